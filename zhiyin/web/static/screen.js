// The hall screen: follows the queue by server-sent events (or by polling with an ETag where
// EventSource is missing or keeps failing), shows each new call big, and reads it aloud.
// A call is new when its ticket was not in the last list, or its `calls` / `called_at` changed (重呼).
(function () {
  "use strict";
  var place = document.body.getAttribute("data-place");
  if (!place) return;
  var base = "/api/places/" + encodeURIComponent(place) + "/queue";
  var RECENT_ROWS = 5, POLL_MS = 3000, STREAM_RETRY_MS = 60000, HIGHLIGHT_MS = 8000;
  var nowBox = document.querySelector(".now");
  var now = document.getElementById("now");
  var recent = document.getElementById("recent");
  var groups = document.getElementById("groups");
  var live = document.getElementById("live");
  var clock = document.getElementById("clock");
  var today = document.getElementById("today");
  var soundButton = document.getElementById("sound");
  var state = JSON.parse(document.getElementById("queue-state").textContent);
  var seen = signatures(state.calls);
  var stream = null, failures = 0, pollTimer = null, retryTimer = null, etag = null;
  var offset = 0, highlightTimer = null, freshTickets = {};
  var shownNow = nowKey(state.calls[0]);

  function signatures(calls) {
    var map = {};
    for (var i = 0; i < calls.length; i++) map[calls[i].ticket] = calls[i].calls + "@" + calls[i].called_at;
    return map;
  }

  function nowKey(call) { return call ? call.ticket + "|" + call.window + "|" + call.calls + "@" + call.called_at : ""; }

  function windowWords(w) {
    w = w || "";
    return w + (/\d$/.test(w) ? "号" : "") + "窗口";
  }

  function chinese(text) {  // "请A001号到A05号窗口办理。Number A001, …" → the Chinese sentence
    var i = text.search(/。\s*[A-Za-z]/);
    return i >= 0 ? text.slice(0, i + 1) : text;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // -- the clock: the server's hall time, so a TV with a wrong clock or time zone still shows it right
  function hallMillis(stamp) {  // "2026-11-24T09:41:23", hall time, counted as if it were UTC
    var m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)/.exec(stamp || "");
    return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : null;
  }
  function setOffset(stamp) {
    var t = hallMillis(stamp);
    if (t !== null) offset = t - new Date().getTime();
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var d = new Date(new Date().getTime() + offset);
    var day = d.getUTCFullYear() + "年" + (d.getUTCMonth() + 1) + "月" + d.getUTCDate() + "日 星期" +
      "日一二三四五六".charAt(d.getUTCDay());
    clock.textContent = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    if (day !== today.textContent) {
      if (today.textContent) { etag = null; poll(); }  // a new day: yesterday's calls go, though nothing changed
      today.textContent = day;
    }
  }
  setOffset(state.time);
  setInterval(tick, 1000);

  // -- speech -------------------------------------------------------------------------------------
  var canSpeak = !!(window.speechSynthesis && window.SpeechSynthesisUtterance);
  function voiceFor(lang) {
    var voices = speechSynthesis.getVoices ? speechSynthesis.getVoices() : [], loose = null;
    for (var i = 0; i < voices.length; i++) {
      var l = (voices[i].lang || "").replace("_", "-").toLowerCase();
      if (l === lang.toLowerCase()) return voices[i];
      if (!loose && l.slice(0, 2) === lang.slice(0, 2).toLowerCase()) loose = voices[i];
    }
    return loose;
  }
  function utter(text, lang) {
    var u = new SpeechSynthesisUtterance(text);
    u.lang = lang;
    u.rate = 0.9;
    var voice = voiceFor(lang);
    if (voice) u.voice = voice;
    u.onerror = function (e) {  // a browser that wants a first touch before it speaks
      if (e && e.error === "not-allowed") soundButton.hidden = false;
    };
    speechSynthesis.speak(u);
  }
  function announce(call) {
    if (!canSpeak) return;
    var words = call.announcement || ("请" + call.ticket + "号到" + windowWords(call.window) + "办理。");
    var zh = chinese(words), en = words.slice(zh.length).replace(/^\s+/, "");
    utter(zh, "zh-CN");
    if (en) utter(en, "en-US");
  }
  soundButton.addEventListener("click", function () {
    soundButton.hidden = true;
    if (canSpeak) utter("语音叫号已开启", "zh-CN");
  });

  // -- drawing ------------------------------------------------------------------------------------
  function drawNow(call) {
    now.textContent = "";
    if (!call) {
      now.appendChild(el("p", "now-empty", "暂无叫号"));
      now.appendChild(el("p", "now-say", "取号后请留意本屏幕和语音叫号"));
      return;
    }
    var number = el("p", "now-number", call.ticket);
    number.id = "now-number";
    var where = el("p", "now-window", "请到 ");
    where.appendChild(el("strong", "", windowWords(call.window)));
    now.appendChild(number);
    now.appendChild(where);
  }

  function drawRecent(calls) {
    recent.textContent = "";
    if (!calls.length) {
      var empty = el("tr");
      var cell = el("td", "empty", "暂无");
      cell.colSpan = 2;
      empty.appendChild(cell);
      recent.appendChild(empty);
    }
    for (var i = 0; i < calls.length && i < RECENT_ROWS; i++) {
      var c = calls[i], row = el("tr", freshTickets[c.ticket] ? "fresh" : (i === 0 ? "latest" : ""));
      row.appendChild(el("td", "num", c.ticket));
      var where = el("td", "", windowWords(c.window));
      if (c.status === "no_show") {
        where.appendChild(document.createTextNode(" "));
        where.appendChild(el("span", "tag", "已过号"));
      }
      row.appendChild(where);
      recent.appendChild(row);
    }
  }

  function drawGroups(list) {
    groups.textContent = "";
    for (var i = 0; i < list.length; i++) {
      var g = list[i], li = el("li");
      li.setAttribute("data-letter", g.letter);
      var letter = el("span", "letter", g.letter);
      letter.setAttribute("aria-hidden", "true");
      li.appendChild(letter);
      li.appendChild(el("span", "label", g.label));
      var waiting = el("span", "waiting", "等候 ");
      waiting.appendChild(el("b", "", String(g.waiting)));
      waiting.appendChild(document.createTextNode(" 人"));
      li.appendChild(waiting);
      li.appendChild(el("span", "wait", g.waiting ? "预计约 " + g.wait_minutes + " 分钟" : "无需等候"));
      groups.appendChild(li);
    }
  }

  function update(next) {
    if (next.version < state.version) return;  // an older answer arriving late
    setOffset(next.time);
    var changed = [];
    for (var i = next.calls.length - 1; i >= 0; i--) {  // oldest first, so they are read in order
      var c = next.calls[i];
      if (seen[c.ticket] !== c.calls + "@" + c.called_at) changed.push(c);
    }
    seen = signatures(next.calls);
    state = next;
    if (changed.length) {
      freshTickets = {};
      for (var j = 0; j < changed.length; j++) freshTickets[changed[j].ticket] = true;
      nowBox.className = "now";
      void nowBox.offsetWidth;  // restart the highlight for a call right after another
      nowBox.className = "now flash";
      clearTimeout(highlightTimer);
      highlightTimer = setTimeout(function () {
        nowBox.className = "now";
        freshTickets = {};
        drawRecent(state.calls);
      }, HIGHLIGHT_MS);
      for (var k = 0; k < changed.length; k++) announce(changed[k]);
    }
    if (nowKey(next.calls[0]) !== shownNow) {  // the live region speaks only when the call changes
      shownNow = nowKey(next.calls[0]);
      drawNow(next.calls[0]);
    }
    drawRecent(next.calls);
    drawGroups(next.groups);
  }

  // -- following the queue: events first, polling as the fallback ---------------------------------
  function showLive(text, off) {
    live.textContent = text;
    live.className = off ? "live off" : "live";
  }

  function poll() {
    clearTimeout(pollTimer);
    var xhr = new XMLHttpRequest();
    xhr.open("GET", base, true);
    if (etag) xhr.setRequestHeader("If-None-Match", etag);
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4) return;
      if (xhr.status === 200) {
        etag = xhr.getResponseHeader("ETag");
        try { update(JSON.parse(xhr.responseText)); } catch (err) { /* a broken answer: try again */ }
        if (!stream) showLive("定时刷新", false);
      } else if (xhr.status !== 304) {
        showLive("网络中断，正在重试…", true);
      }
      if (!stream) pollTimer = setTimeout(poll, POLL_MS);
    };
    xhr.send();
  }

  function fallBack() {
    if (stream) { stream.close(); stream = null; }
    poll();
    clearTimeout(retryTimer);
    if (window.EventSource) retryTimer = setTimeout(follow, STREAM_RETRY_MS);
  }

  function follow() {
    if (!window.EventSource) { fallBack(); return; }
    failures = 0;
    stream = new EventSource(base + "/events");
    stream.addEventListener("queue", function (e) {
      failures = 0;
      clearTimeout(pollTimer);
      showLive("实时", false);
      try { update(JSON.parse(e.data)); } catch (err) { /* ignore one bad event */ }
    });
    stream.onerror = function () {
      // the stream ends every few minutes and the browser reconnects by itself; a stream that is
      // closed for good, or fails twice in a row, gives way to polling
      failures += 1;
      showLive("正在重新连接…", true);
      if (!stream || stream.readyState === 2 || failures >= 2) fallBack();
    };
  }

  follow();
})();
