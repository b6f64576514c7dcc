// An answer from a guide, as the phone page and the kiosk show it: its summary first, then the
// guide's parts and the full answer folded away (<details>). Loaded before zhiyin.js and kiosk.js.
(function () {
  "use strict";

  function folded(title, className, body) {
    var details = document.createElement("details");
    details.className = className;
    var head = document.createElement("summary");
    head.textContent = title;
    details.appendChild(head);
    details.appendChild(body);
    return details;
  }

  function part(block) {
    if (block.items && block.items.length) {
      var list = document.createElement("ul");
      block.items.forEach(function (item) {
        var li = document.createElement("li");
        li.textContent = item;
        list.appendChild(li);
      });
      return list;
    }
    var p = document.createElement("p");
    p.textContent = block.text;
    return p;
  }

  // Append ``reply`` to ``turn``: summary first and the parts folded when the reply has them
  // (true), else the plain ``text`` element as it is (false).
  window.zhiyinAnswer = function (turn, text, reply) {
    if (!(reply && reply.summary && reply.blocks && reply.blocks.length)) {
      turn.appendChild(text);
      return false;
    }
    var summary = document.createElement("p");
    summary.className = "summary";
    summary.textContent = reply.summary;
    turn.appendChild(summary);
    reply.blocks.forEach(function (b) { turn.appendChild(folded(b.title, "block " + b.kind, part(b))); });
    turn.appendChild(folded("完整回答", "full", text));
    return true;
  };
})();
