// The kiosk: ask by touch, typing or voice; answers are shown with their sources and read aloud.
// After a minute without a touch the screen returns to the welcome, forgetting the conversation.
// 取号 · 签到: a booked visitor checks in with the booking code (typed, or scanned: a scanner types the
// check-in URL and Enter), a walk-in takes a ticket for an item group (绿色通道 optional); the ticket
// is shown big and read aloud, and goes away with the idle reset like everything else.
(function () {
  "use strict";
  var place = document.body.dataset.place;
  var idleMs = (parseInt(document.body.dataset.idleSeconds, 10) || 60) * 1000;
  var log = document.getElementById("conversation");
  var bubble = document.getElementById("bubble");
  var avatar = document.getElementById("avatar");
  var input = document.getElementById("ask");
  var micStatus = document.getElementById("mic-status");
  var handoff = document.getElementById("handoff");
  var qr = document.getElementById("continue-qr");
  var welcome = bubble.textContent;
  var sessionId = null, idleTimer = null, busy = false;

  function speak(text) {
    if (!("speechSynthesis" in window)) return;
    speechSynthesis.cancel();
    var spoken = text.replace(/https?:\/\/\S+/g, "网址见屏幕").slice(0, 300);
    var u = new SpeechSynthesisUtterance(spoken);
    u.lang = "zh-CN";
    u.rate = 0.95;
    u.onstart = function () { avatar.classList.add("speaking"); };
    u.onend = u.onerror = function () { avatar.classList.remove("speaking"); };
    avatar.classList.add("speaking");
    speechSynthesis.speak(u);
  }

  function add(role, text, sources, reply) {
    var turn = document.createElement("div");
    turn.className = "turn " + role;
    var body = document.createElement("div");
    body.className = "text";
    body.textContent = text;
    window.zhiyinAnswer(turn, body, reply);
    if (sources && sources.length) {
      var p = document.createElement("p");
      p.className = "sources";
      p.textContent = "依据：" + sources.map(function (s) { return s.title; }).join("、");
      turn.appendChild(p);
    }
    log.appendChild(turn);
    log.scrollTop = log.scrollHeight;
    return turn;
  }

  function ask(message) {
    message = (message || "").trim();
    if (!message || busy) return;
    busy = true;
    add("user", message);
    bubble.textContent = "我查一下办事指南…";
    fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ message: message, session_id: sessionId, place: place })
    }).then(function (r) {
      if (!r.ok) throw new Error("暂时无法回答，请到帮办代办窗口或拨打12345。");
      return r.json();
    }).then(function (data) {
      sessionId = data.session_id;
      add("assistant", data.answer, data.sources, data);
      bubble.textContent = data.summary || data.answer.split("\n")[0];
      speak(data.summary && data.blocks && data.blocks.length ? data.summary + "\n" + data.answer : data.answer);
      qr.src = "/kiosk/continue.svg?place=" + encodeURIComponent(place) + "&session=" + encodeURIComponent(sessionId);
      handoff.hidden = false;
    }).catch(function (err) {
      bubble.textContent = err.message || "网络不通，请到帮办代办窗口。";
    }).then(function () { busy = false; });
  }

  function reset() {
    if ("speechSynthesis" in window) speechSynthesis.cancel();
    avatar.classList.remove("speaking");
    log.textContent = "";
    input.value = "";
    micStatus.textContent = "";
    bubble.textContent = welcome;
    sessionId = null;
    handoff.hidden = true;
    qr.removeAttribute("src");
    closeQueue();
  }

  function touched() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(reset, idleMs);
  }
  ["pointerdown", "keydown", "touchstart"].forEach(function (type) {
    document.addEventListener(type, touched, { passive: true });
  });

  document.getElementById("ask-form").addEventListener("submit", function (e) {
    e.preventDefault();
    if (queueReady && CHECKIN_URL.test(input.value.trim())) {  // a scan landed in the question box
      openQueue(false);
      checkIn(input.value);
      input.value = "";
      touched();
      return;
    }
    ask(input.value);
    input.value = "";
    touched();
  });
  document.querySelectorAll("[data-ask]").forEach(function (button) {
    button.addEventListener("click", function () { ask(button.dataset.ask); touched(); });
  });
  document.getElementById("reset").addEventListener("click", reset);

  // voice input where the browser has it; otherwise say so and keep touch and typing
  var mic = document.getElementById("mic");
  var Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
  if (!Recognition) {
    mic.disabled = true;
    mic.setAttribute("aria-disabled", "true");
    micStatus.textContent = "本机不支持语音输入，请点按事项或打字提问。";
  } else {
    mic.addEventListener("click", function () {
      var rec = new Recognition();
      rec.lang = "zh-CN";
      rec.interimResults = false;
      mic.setAttribute("aria-pressed", "true");
      micStatus.textContent = "请说话…";
      rec.onresult = function (e) { var said = e.results[0][0].transcript; micStatus.textContent = "您说：" + said; ask(said); };
      rec.onerror = function () { micStatus.textContent = "没有听清（或语音服务不可用），请再说一次，或打字提问。"; };
      rec.onend = function () { mic.setAttribute("aria-pressed", "false"); };
      try { rec.start(); } catch (err) { rec.onerror(); rec.onend(); }
      touched();
    });
  }
  // -- 取号 · 签到 ---------------------------------------------------------------------------------
  var CHECKIN_URL = /\/b\/[0-9A-Za-z-]{4,}\/?$/;  // what the booking's check-in QR encodes: {public_url}/b/{code}
  var KIND = { green: "绿色通道", booked: "预约", walk_in: "现场取号" };
  var entry = document.getElementById("queue-entry");
  var panel = document.getElementById("queue-panel");
  var choose = document.getElementById("queue-choose");
  var ticketBox = document.getElementById("ticket");
  var codeInput = document.getElementById("checkin-code");
  var queueError = document.getElementById("queue-error");
  var green = document.getElementById("green");
  var groupsBox = document.getElementById("walkin-groups");
  var queueReady = false, queueBusy = false, scanned = "", scanTimer = null;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function chinese(message) {  // "没有这个预约码。No booking with this code." → the Chinese part
    var i = message.search(/。\s*[A-Za-z]/);
    return i >= 0 ? message.slice(0, i + 1) : message;
  }

  function behind(on) {  // what the panel covers takes no focus and is not read out meanwhile
    ["stage", "talk", "top-items", "queue-entry", "handoff"].forEach(function (name) {
      var node = document.getElementById(name) || document.querySelector("." + name);
      if (!node) return;
      if (on) { node.setAttribute("inert", ""); node.setAttribute("aria-hidden", "true"); }
      else { node.removeAttribute("inert"); node.removeAttribute("aria-hidden"); }
    });
  }

  function openQueue(walkIn) {
    if (!queueReady) return;
    panel.hidden = false;
    behind(true);
    document.body.classList.add("queue-shown");
    showChoice();
    (walkIn ? green : codeInput).focus();
  }

  function closeQueue() {
    if (!panel) return;
    panel.hidden = true;
    behind(false);
    document.body.classList.remove("queue-shown");
    ticketBox.textContent = "";
    codeInput.value = "";
    queueError.textContent = "";
    green.setAttribute("aria-pressed", "false");
    choose.hidden = false;
    queueBusy = false;
  }

  function showChoice() {
    ticketBox.textContent = "";
    choose.hidden = false;
    queueError.textContent = "";
  }

  function refused(status, data) {
    var detail = data && data.detail;
    if (detail && detail.message) return chinese(detail.message);
    if (status === 422) return "预约码不对，请核对后重新输入。";
    if (status === 429) return "操作太频繁，请稍后再试。";
    return "暂时无法取号，请到咨询台找工作人员。";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(null, function () { return null; }).then(function (data) {
        if (!r.ok) throw new Error(refused(r.status, data));
        return data;
      });
    }, function () {
      throw new Error("网络不通，请到咨询台找工作人员取号。");
    });
  }

  function showTicket(t) {
    choose.hidden = true;
    queueError.textContent = "";
    ticketBox.textContent = "";
    ticketBox.appendChild(el("p", "ticket-title", t.kind === "booked" ? "签到成功，您的号码是" : "取号成功，您的号码是"));
    var number = el("p", "ticket-number", t.ticket);
    number.id = "ticket-number";
    ticketBox.appendChild(number);
    var what = el("p", "ticket-group", t.group_label);
    what.appendChild(el("span", "ticket-kind " + t.kind, KIND[t.kind] || ""));
    ticketBox.appendChild(what);
    var ahead = t.ahead || 0;
    var wait = ahead ? "前面还有 " + ahead + " 人，预计等候约 " + t.wait_minutes + " 分钟" : "前面没有人，请留意叫号";
    var line = el("p", "ticket-ahead", wait);
    line.id = "ticket-ahead";
    ticketBox.appendChild(line);
    if (t.late) ticketBox.appendChild(el("p", "ticket-note late", "您已超过预约时段，按现场取号排队。"));
    ticketBox.appendChild(el("p", "ticket-note", "请记下或拍下号码，留意大厅叫号屏和语音叫号。"));
    var done = el("button", "ticket-done", "好的");
    done.type = "button";
    done.addEventListener("click", reset);
    ticketBox.appendChild(done);
    bubble.textContent = "您的号码是 " + t.ticket + "，请留意叫号。";
    speak("您的号码是 " + t.ticket + " 号，" + t.group_label + "。" + wait + "。" + (t.late ? "您已超过预约时段，按现场取号排队。" : ""));
    done.focus();
  }

  function failed(err) {
    queueError.textContent = err.message;
    speak(err.message);
  }

  function checkIn(raw) {
    var code = (raw || "").trim();
    if (!code) { failed(new Error("请输入预约码，或扫描预约二维码。")); codeInput.focus(); return; }
    code = code.replace(/[?#].*$/, "").replace(/\/+$/, "");
    code = code.slice(code.lastIndexOf("/") + 1);  // a scanner gives the whole check-in URL
    if (queueBusy) return;
    queueBusy = true;
    queueError.textContent = "";
    post("/api/checkin", { code: code, place: place }).then(function (t) {
      codeInput.value = "";
      showTicket(t);
    }, function (err) {
      failed(err);
      codeInput.select();  // fix a typo, or scan again over it
    }).then(function () { queueBusy = false; });
  }

  function walkIn(group) {
    if (queueBusy) return;
    queueBusy = true;
    queueError.textContent = "";
    var body = { group: group, green: green.getAttribute("aria-pressed") === "true" };
    post("/api/places/" + encodeURIComponent(place) + "/tickets", body).then(showTicket, failed).then(function () {
      queueBusy = false;
    });
  }

  if (entry && panel && window.fetch) {
    fetch("/api/places/" + encodeURIComponent(place) + "/booking").then(function (r) {
      if (!r.ok) throw new Error("no queue here");
      return r.json();
    }).then(function (info) {
      info.groups.forEach(function (g) {
        var b = el("button", "group-btn");
        b.type = "button";
        b.setAttribute("data-group", g.letter);
        b.appendChild(el("span", "letter", g.letter));
        b.appendChild(el("span", "label", g.label));
        b.addEventListener("click", function () { walkIn(g.letter); touched(); });
        groupsBox.appendChild(b);
      });
      queueReady = true;
      entry.hidden = false;
      document.body.classList.add("has-queue");
    }).catch(function () { /* a place without appointments and queue numbers: no 取号 here */ });

    document.getElementById("open-checkin").addEventListener("click", function () { openQueue(false); });
    document.getElementById("open-walkin").addEventListener("click", function () { openQueue(true); });
    document.getElementById("queue-close").addEventListener("click", function () { closeQueue(); });
    document.getElementById("checkin-form").addEventListener("submit", function (e) {
      e.preventDefault();
      checkIn(codeInput.value);
    });
    green.addEventListener("click", function () {
      green.setAttribute("aria-pressed", green.getAttribute("aria-pressed") === "true" ? "false" : "true");
    });
    panel.addEventListener("keydown", function (e) {
      if (e.key === "Escape" || e.keyCode === 27) closeQueue();
    });

    // a scanner is a keyboard: keys typed with no field focused, ending in Enter, may be a check-in URL
    document.addEventListener("keydown", function (e) {
      var target = e.target || {};
      if (!queueReady || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName || "")) return;
      clearTimeout(scanTimer);
      scanTimer = setTimeout(function () { scanned = ""; }, 1000);
      if (e.key === "Enter" || e.keyCode === 13) {
        if (CHECKIN_URL.test(scanned)) {
          e.preventDefault();
          openQueue(false);
          checkIn(scanned);
        }
        scanned = "";
      } else if (e.key && e.key.length === 1) {
        scanned = (scanned + e.key).slice(-200);
      }
    });
  }

  touched();
})();
