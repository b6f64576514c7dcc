// Progressive enhancement for the phone pages; every feature also works as a plain form or link.
(function () {
  "use strict";
  var ELDER = "zhiyin_elder";

  // 长辈模式: switch at once and remember it (the cookie is what the server reads next time)
  var toggle = document.getElementById("elder-toggle");
  if (toggle) {
    toggle.addEventListener("click", function (e) {
      e.preventDefault();
      var on = !document.body.classList.contains("elder");
      document.body.classList.toggle("elder", on);
      document.cookie = ELDER + "=" + (on ? "1" : "0") + ";path=/;max-age=31536000;samesite=lax";
      try { localStorage.setItem(ELDER, on ? "1" : "0"); } catch (err) { /* private mode */ }
      toggle.textContent = on ? "标准模式" : "长辈模式";
      toggle.setAttribute("aria-pressed", on ? "true" : "false");
      toggle.form.querySelector("[name=on]").value = on ? "false" : "true";
    });
  }

  // items: filter as you type (the form still searches on the server without JavaScript)
  var filter = document.getElementById("item-filter");
  if (filter) {
    filter.addEventListener("input", function () {
      var q = filter.value.trim().toLowerCase(), shown = 0;
      document.querySelectorAll("details.theme").forEach(function (theme) {
        var any = false;
        theme.querySelectorAll("li[data-name]").forEach(function (li) {
          var hit = !q || li.getAttribute("data-name").toLowerCase().indexOf(q) >= 0;
          li.hidden = !hit;
          if (hit) { any = true; shown++; }
        });
        theme.hidden = !any;
        if (q && any) theme.open = true;
      });
      var empty = document.getElementById("filter-empty");
      if (empty) empty.hidden = shown > 0;
    });
  }

  // the assistant, scoped to this place: ask without reloading the page
  var form = document.getElementById("ask-form");
  if (form && window.fetch) {
    var log = document.getElementById("conversation");
    var input = document.getElementById("ask");
    var session = form.querySelector("[name=session]");
    var sessionId = session ? session.value : null;
    var add = function (role, text, sources, reply) {
      var turn = document.createElement("div");
      turn.className = "turn " + role;
      var who = document.createElement("p");
      who.className = "who";
      who.textContent = role === "user" ? "您" : "智引";
      var body = document.createElement("div");
      body.className = "text";
      body.textContent = text;
      turn.appendChild(who);
      window.zhiyinAnswer(turn, body, reply);
      if (sources && sources.length) {
        var p = document.createElement("p");
        p.className = "sources";
        p.appendChild(document.createTextNode("依据："));
        sources.forEach(function (s, i) {
          var a = document.createElement("a");
          a.href = "/g/" + encodeURIComponent(s.id) + "?place=" + encodeURIComponent(form.dataset.place);
          a.textContent = s.title;
          if (i) p.appendChild(document.createTextNode("、"));
          p.appendChild(a);
        });
        turn.appendChild(p);
      }
      log.appendChild(turn);
      return turn;
    };
    form.addEventListener("submit", function (e) {
      var message = input.value.trim();
      if (!message) return;
      e.preventDefault();
      add("user", message);
      input.value = "";
      var waiting = add("assistant", "正在查找办事指南…");
      fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ message: message, session_id: sessionId, place: form.dataset.place })
      }).then(function (r) {
        if (!r.ok) throw new Error(r.status === 429 ? "提问太频繁，请稍后再试。" : "暂时无法回答，请拨打12345。");
        return r.json();
      }).then(function (data) {
        sessionId = data.session_id;
        log.removeChild(waiting);
        add("assistant", data.answer, data.sources, data).scrollIntoView({ block: "nearest" });
      }).catch(function (err) {
        waiting.querySelector(".text").textContent = err.message || "网络不通，请稍后再试或拨打12345。";
      });
    });
  }

  // nearby service points: by distance from the phone, when the user allows it
  var sortButton = document.getElementById("sort-nearby");
  var list = document.getElementById("nearby");
  if (sortButton && list && navigator.geolocation) {
    sortButton.hidden = false;
    sortButton.addEventListener("click", function () {
      var status = document.getElementById("nearby-status");
      status.textContent = "正在获取您的位置…";
      navigator.geolocation.getCurrentPosition(function (pos) {
        var lat = pos.coords.latitude, lng = pos.coords.longitude, rad = Math.PI / 180;
        var items = Array.prototype.slice.call(list.children).map(function (li) {
          var plat = parseFloat(li.dataset.lat), plng = parseFloat(li.dataset.lng), d = Infinity;
          if (!isNaN(plat) && !isNaN(plng)) {
            var h = Math.pow(Math.sin((plat - lat) * rad / 2), 2) +
              Math.cos(lat * rad) * Math.cos(plat * rad) * Math.pow(Math.sin((plng - lng) * rad / 2), 2);
            d = 2 * 6371 * Math.asin(Math.sqrt(h));
          }
          var label = li.querySelector(".distance");
          if (label && d !== Infinity) label.textContent = "距您约" + d.toFixed(1) + "公里";
          return { li: li, d: d };
        });
        items.sort(function (a, b) { return a.d - b.d; }).forEach(function (x) { list.appendChild(x.li); });
        status.textContent = "已按离您的距离排序。";
      }, function () {
        status.textContent = "未能获取位置，按所属关系排列。";
      }, { timeout: 10000, maximumAge: 600000 });
    });
  }

  // 一次性告知单: print
  var print = document.getElementById("print-notice");
  if (print && window.print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }
})();
