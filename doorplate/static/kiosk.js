// The kiosk: ask by touch, typing or voice; answers are shown with their sources and read aloud.
// After a minute without a touch the screen returns to the welcome, forgetting the conversation.
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

  function add(role, text, sources) {
    var turn = document.createElement("div");
    turn.className = "turn " + role;
    turn.textContent = text;
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
      add("assistant", data.answer, data.sources);
      bubble.textContent = data.answer.split("\n")[0];
      speak(data.answer);
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
  touched();
})();
