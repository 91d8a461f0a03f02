// 舆情监测与回应 — live dashboard.
// Everything shown comes from crawled text, which is attacker-controlled:
// the DOM is built with createElement and textContent only.
(function () {
  'use strict';

  var FEED_MAX = 200;        // posts kept in the live feed
  var EVENTS_SHOWN = 30;     // events rendered
  var CASES_LOADED = 2000;   // newest open cases loaded (and as many overdue ones)
  var EVENTS_KEPT = 300;     // events remembered
  var TEXT_MAX = 160;        // characters of a post shown
  var ACTOR_KEY = 'yuqing.actor';

  var SENTIMENT = { positive: '正面', neutral: '中性', negative: '负面' };
  // the risk bands of the search API's by_risk (false-information probability)
  var RISK_BAND = { low: '低 <0.3', medium: '中 0.3–0.7', high: '高 ≥0.7' };
  var RISK_BAND_CLASS = { low: 's-positive', medium: 's-neutral', high: 's-negative' };
  var GRADE_ROMAN = { 1: 'I', 2: 'II', 3: 'III', 4: 'IV' };
  var GRADE_ZH = { 1: '特别重大', 2: '重大', 3: '较大', 4: '一般' };
  var STATUS_ZH = { open: '待签收', signed: '已签收', assessed: '已研判', answered: '已回应', closed: '已关闭' };
  var ACTION_ZH = { open: '立案', sign: '签收', assess: '研判', respond: '回应', press_conference: '新闻发布会', evaluate: '评估', close: '办结',
    reopen: '重新打开', escalate: '上报', transfer: '转办', merge: '并入他案', merged: '他案并入', remind: '时限提醒', overdue: '超时', notify: '通知' };
  var RECORD_ZH = { disclosure: '政务公开', interpretation: '政策解读' };
  var SOURCE_ZH = { weibo: '微博', news: '新闻', gov: '政务网站', wechat: '微信', forum: '论坛', video: '视频', blog: '博客', app: '客户端', import: '导入', notice: '网信通报' };
  var WEEKDAY = ['日', '一', '二', '三', '四', '五', '六'];
  var HEALTH_ZH = { 'new': '未运行', ok: '正常', silent: '沉默', broken: '故障' };
  var HEALTH_RANK = { broken: 0, silent: 1, 'new': 2, ok: 3 };  // silent and broken first
  var SOURCES_TITLE = '沉默（长时间没有新内容）或故障（连续抓取失败）的信息源数量；点击查看全部信息源';
  var DAY_MS = 864e5;
  var CHINA_MS = 8 * 3600e3;  // the crawler counts days in China time

  var $ = function (id) { return document.getElementById(id); };

  // ---------- small helpers ----------
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function pad(n) { return n < 10 ? '0' + n : String(n); }
  function toDate(s) {
    if (!s) return null;
    var d = new Date(s);
    if (isNaN(d.getTime()) || d.getFullYear() < 1971) return null;
    return d;
  }
  function fmtTime(s) {
    var d = toDate(s);
    if (!d) return '--:--';
    var now = new Date();
    var hm = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
    if (d.toDateString() === now.toDateString()) return hm;
    return pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + hm.slice(0, 5);
  }
  function fmtNum(n) {
    n = Number(n) || 0;
    if (Math.abs(n) >= 1e8) return (n / 1e8).toFixed(1) + '亿';
    if (Math.abs(n) >= 1e5) return (n / 1e4).toFixed(1) + '万';
    return n.toLocaleString('zh-CN');
  }
  // fmtDur: 38分15秒, 4小时12分, 46小时59分 (the legal clocks count hours), 4天3小时 beyond 72 hours.
  function fmtDur(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
    if (h >= 72) return Math.floor(h / 24) + '天' + (h % 24) + '小时';
    if (h > 0) return h + '小时' + m + '分';
    return m + '分' + pad(sec) + '秒';
  }
  function truncate(s, n) {
    s = String(s || '').replace(/\s+/g, ' ').trim();
    var chars = Array.from(s);
    return chars.length > n ? chars.slice(0, n).join('') + '…' : s;
  }
  // safeHref returns an absolute http(s) address or null (never javascript: and the like).
  function safeHref(u) {
    if (!u) return null;
    try {
      var p = new URL(String(u), location.href);
      return (p.protocol === 'http:' || p.protocol === 'https:') ? p.href : null;
    } catch (e) { return null; }
  }
  function link(text, href, cls) {
    var h = safeHref(href);
    if (!h) return el('span', cls, text);
    var a = el('a', cls, text);
    a.href = h;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    return a;
  }
  // absHref: like safeHref, but only for an absolute http(s) address (no relative ones).
  function absHref(u) {
    u = String(u || '').trim();
    return /^https?:\/\//i.test(u) ? safeHref(u) : null;
  }
  function absLink(text, href, cls) {
    if (absHref(href)) return link(text, href, cls);
    var s = el('span', cls, text);
    if (href) s.title = '不是 http/https 网址，未作为链接：' + truncate(href, 200);
    return s;
  }
  // fmtStamp: 05-01 14:03 (with the year when not this year; seconds if asked).
  function fmtStamp(s, secs) {
    var d = toDate(s);
    if (!d) return '—';
    var out = pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + (secs ? ':' + pad(d.getSeconds()) : '');
    return d.getFullYear() !== new Date().getFullYear() ? d.getFullYear() + '-' + out : out;
  }
  // fmtMin: minutes as 38分钟, 2小时5分, 3天4小时.
  function fmtMin(m) {
    m = Number(m);
    if (!(m >= 0) || !isFinite(m)) return '—';
    if (m < 1) return '不到1分钟';
    if (m < 60) return Math.round(m) + '分钟';
    return fmtDur(m * 60000);
  }
  function gradeBadge(g) {
    g = Number(g) || 0;
    var b = el('span', 'badge grade grade-' + (GRADE_ROMAN[g] ? g : 0));
    b.textContent = GRADE_ROMAN[g] ? GRADE_ROMAN[g] + '级 ' + GRADE_ZH[g] : '未分级';
    return b;
  }
  function sentimentBadge(label) {
    var zh = SENTIMENT[label];
    if (!zh) return null;
    return el('span', 'badge sent-' + label, zh);
  }
  var toastTimer = 0;
  function toast(msg, isError) {
    var t = $('toast');
    t.textContent = msg;
    t.className = 'toast' + (isError ? ' error' : '');
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { t.hidden = true; }, isError ? 6000 : 3000);
  }
  function getJSON(url) {
    return fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' }).then(function (r) {
      return r.text().then(function (body) {
        var j = null;
        try { j = body ? JSON.parse(body) : null; } catch (e) { /* not JSON */ }
        if (!r.ok) throw new Error((j && (j.error || j.message)) || ('HTTP ' + r.status));
        return j;
      });
    });
  }

  // ---------- state ----------
  var state = {
    posts: 0,          // posts seen by the server hub (from stats), else by this page
    localPosts: 0,
    dropped: 0,
    events: new Map(),
    cases: new Map(),
    casesCapped: false, // more open cases than the page loaded
    casesUnit: '',      // the case list shows this unit and those below it ('' all)
    freshCases: new Map(), // case id -> until when it is highlighted as new
    casesLoaded: false,
    feedQueue: [],
    paused: false,
    recent: [],        // arrival times of feed posts, for the rate
    openReasons: new Set(),
    sources: new Map(), // source name -> Health
    sourcesKnown: false, // a list was loaded or a source message came
    sourcesLoaded: false, // a list was loaded: later lists tell changes
    sourcesNote: ''     // the server's word when this process does not crawl
  };
  // the case shown in the detail panel
  var panelCase = { id: null, data: null, seq: 0, timer: 0, clockViews: [] };

  // ---------- counters and header ----------
  function setConn(st, text) {
    var c = $('conn');
    c.dataset.state = st;
    $('conn-text').textContent = text;
  }
  function overdueCount() {
    var now = Date.now(), n = 0;
    state.cases.forEach(function (c) {
      if ((c.clocks || []).some(function (k) { return !k.stopped_at && toDate(k.due_at) && toDate(k.due_at).getTime() < now; })) n++;
    });
    return n;
  }
  function renderCounters() {
    $('c-posts').textContent = fmtNum(Math.max(state.posts, state.localPosts));
    $('c-events').textContent = fmtNum(state.events.size);
    $('c-cases').textContent = fmtNum(state.cases.size) + (state.casesCapped ? '+' : '');
    var od = overdueCount();
    var o = $('c-overdue');
    o.textContent = fmtNum(od);
    o.classList.toggle('zero', od === 0);
    $('c-dropped').textContent = fmtNum(state.dropped);
  }
  function tickNow() {
    var d = new Date();
    $('now').textContent = d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' 星期' + WEEKDAY[d.getDay()] + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }

  // ---------- posts ----------
  function postView(d, isNew) {
    var a = d.analysis || {};
    var li = el('li', 'post' + (isNew ? ' new' : ''));
    var meta = el('div', 'meta');
    meta.appendChild(el('span', 't', fmtTime(d.published_at || d.received_at)));
    if (d.source) meta.appendChild(el('span', 'src', SOURCE_ZH[d.source] || d.source));
    var au = d.author || {};
    if (au.name) {
      var an = el('span', 'author', au.name);
      if (au.followers) an.title = '粉丝 ' + fmtNum(au.followers);
      meta.appendChild(an);
      if (au.verified) meta.appendChild(el('span', 'v', '认证'));
    }
    var sb = sentimentBadge(a.sentiment && a.sentiment.label);
    if (sb) {
      if (a.sentiment.confidence) sb.title = '置信度 ' + Math.round(a.sentiment.confidence * 100) + '%';
      meta.appendChild(sb);
    }
    if (d.parent_id) meta.appendChild(el('span', 'src', '转评'));
    li.appendChild(meta);

    var text = el('div', 'text');
    if (d.title) text.appendChild(link(truncate(d.title, 60), d.url, 'title'));
    var body = d.text || (d.parent_id ? '（转发）' : '');
    if (body) text.appendChild(d.title ? el('span', null, truncate(body, TEXT_MAX)) : link(truncate(body, TEXT_MAX), d.url));
    if (d.text) text.title = truncate(d.text, 600);
    li.appendChild(text);

    var places = (a.places && a.places.length) ? a.places : (d.region ? [d.region] : []);
    if (places.length) {
      var chips = el('div', 'chips');
      places.slice(0, 6).forEach(function (p) { chips.appendChild(el('span', 'chip', p)); });
      li.appendChild(chips);
    }
    return li;
  }

  var feedScheduled = false;
  function onPost(d) {
    state.localPosts++;
    state.recent.push(Date.now());
    state.feedQueue.push(d);
    if (state.feedQueue.length > FEED_MAX) state.feedQueue.splice(0, state.feedQueue.length - FEED_MAX);
    if (!state.paused) scheduleFeed();
  }
  function scheduleFeed() {
    if (feedScheduled) return;
    feedScheduled = true;
    // rAF does not run in hidden tabs; the queue is bounded meanwhile.
    requestAnimationFrame(flushFeed);
  }
  function flushFeed() {
    feedScheduled = false;
    if (state.paused || !state.feedQueue.length) return;
    var feed = $('feed');
    var frag = document.createDocumentFragment();
    for (var i = state.feedQueue.length - 1; i >= 0; i--) frag.appendChild(postView(state.feedQueue[i], true));
    state.feedQueue = [];
    feed.insertBefore(frag, feed.firstChild);
    while (feed.childNodes.length > FEED_MAX) feed.removeChild(feed.lastChild);
  }
  function updateFeedRate() {
    var cut = Date.now() - 5000;
    while (state.recent.length && state.recent[0] < cut) state.recent.shift();
    var r = $('feed-rate');
    var s = '每秒约 ' + (state.recent.length / 5).toFixed(1) + ' 条';
    if (state.paused) s += ' · 已暂停，' + state.feedQueue.length + ' 条待显示';
    r.textContent = s;
  }

  // ---------- events ----------
  var eventsScheduled = false;
  function upsertEvent(e) {
    if (!e || !e.id) return;
    state.events.set(e.id, e);
    if (state.events.size > EVENTS_KEPT) {
      var all = Array.from(state.events.values()).sort(function (a, b) { return (b.heat || 0) - (a.heat || 0); });
      all.slice(EVENTS_KEPT).forEach(function (x) { state.events.delete(x.id); });
    }
    scheduleEvents();
  }
  function scheduleEvents() {
    if (eventsScheduled) return;
    eventsScheduled = true;
    setTimeout(function () { eventsScheduled = false; renderEvents(); }, 250);
  }
  function renderEvents() {
    var list = $('events');
    var evs = Array.from(state.events.values()).sort(function (a, b) { return (b.heat || 0) - (a.heat || 0); }).slice(0, EVENTS_SHOWN);
    var max = evs.reduce(function (m, e) { return Math.max(m, e.heat || 0); }, 0) || 1;
    var frag = document.createDocumentFragment();
    evs.forEach(function (e) { frag.appendChild(eventView(e, max)); });
    var top = list.scrollTop;
    clear(list);
    list.appendChild(frag);
    list.scrollTop = top;
    renderCounters();
  }
  function eventView(e, max) {
    var li = el('li', 'event');
    var reasons = Array.isArray(e.reasons) ? e.reasons : [];
    if (reasons.length) li.title = reasons.join('\n');
    var r1 = el('div', 'row1');
    r1.appendChild(gradeBadge(e.grade));
    r1.appendChild(el('span', 'title', e.title || '（无标题）'));
    li.appendChild(r1);

    var heat = el('div', 'heat');
    var bar = el('div', 'heatbar');
    var fill = el('div', 'fill');
    fill.style.width = Math.max(2, Math.min(100, (e.heat || 0) / max * 100)).toFixed(1) + '%';
    bar.appendChild(fill);
    heat.appendChild(bar);
    heat.appendChild(el('span', 'hv', (e.heat || 0).toFixed(1)));
    li.appendChild(heat);

    var st = el('div', 'stats');
    function stat(label, value) {
      var s = el('span', null, label + ' ');
      s.appendChild(el('b', null, value));
      st.appendChild(s);
    }
    stat('信息', fmtNum(e.posts));
    stat('峰值', fmtNum(e.peak_hourly) + '/小时');
    if (e.posts) stat('负面', Math.round((e.negative || 0) / e.posts * 100) + '%');
    if (e.reach) stat('覆盖', fmtNum(e.reach));
    if (e.region) stat('地区', e.region);
    stat('最近', fmtTime(e.last_at));
    li.appendChild(st);

    if (e.keywords && e.keywords.length) {
      var kw = el('div', 'chips');
      e.keywords.slice(0, 6).forEach(function (k) { kw.appendChild(el('span', 'chip', k)); });
      li.appendChild(kw);
    }
    if (e.id) {
      var see = el('button', 'btn ghost see-posts', '查看信息');
      see.type = 'button';
      see.title = '在检索面板中列出本事件的全部信息及其分布';
      see.addEventListener('click', function (ev) { if (ev && ev.stopPropagation) ev.stopPropagation(); searchEvent(e); });
      li.appendChild(see);
    }
    if (reasons.length) {
      var det = el('details', 'reasons');
      det.open = state.openReasons.has(e.id);
      det.addEventListener('toggle', function () {
        if (det.open) state.openReasons.add(e.id); else state.openReasons.delete(e.id);
      });
      det.appendChild(el('summary', null, '分级依据（' + reasons.length + '）'));
      var ul = el('ul');
      reasons.forEach(function (r) { ul.appendChild(el('li', null, r)); });
      det.appendChild(ul);
      li.appendChild(det);
    }
    return li;
  }

  // ---------- cases ----------
  var clockViews = [];   // {el, remain, clock, item}
  var casesScheduled = false;
  // announceNewCase tells of a case the page has not seen, if it is in the
  // chosen unit's line: a toast (red for grades I and II, whose 5-hour clock
  // runs), the item highlighted for a minute, and the tab's title counting
  // the new cases until the page is looked at again.
  var FRESH_MS = 60e3;
  var unseenCases = 0, baseTitle = document.title;
  function announceNewCase(c) {
    if (!state.casesLoaded || !c || !c.id || c.status === 'closed' || state.cases.has(c.id)) return;
    var within = casesWithin();
    if (within && !within.has(c.unit_id)) return;
    var g = Number(c.grade) || 0;
    var grade = GRADE_ROMAN[g] ? GRADE_ROMAN[g] + '级 ' : '';
    // an older case not in the list came back (reopened by a secondary wave)
    var created = toDate(c.created_at);
    var label = created && Date.now() - created.getTime() > 10 * 60e3 ? '案件重新进入待办：' : '新立案：';
    toast(label + grade + truncate(String(c.title || '（无标题）'), 40) + (c.unit_name ? '，责任单位：' + truncate(String(c.unit_name), 20) : ''), g === 1 || g === 2);
    state.freshCases.set(c.id, Date.now() + FRESH_MS);
    setTimeout(function () { state.freshCases.delete(c.id); scheduleCases(); }, FRESH_MS);
    if (document.hidden) {
      unseenCases++;
      document.title = '（' + unseenCases + ' 件新案件）' + baseTitle;
    }
  }
  function upsertCase(c) {
    if (!c || !c.id) return;
    if (c.status === 'closed') state.cases.delete(c.id); else state.cases.set(c.id, c);
    scheduleCases();
  }
  function scheduleCases() {
    if (casesScheduled) return;
    casesScheduled = true;
    setTimeout(function () { casesScheduled = false; renderCases(); }, 100);
  }
  // urgency: the earliest due time among running clocks; stopped-only cases last.
  function urgency(c) {
    var t = Infinity;
    (c.clocks || []).forEach(function (k) {
      var d = toDate(k.due_at);
      if (!k.stopped_at && d) t = Math.min(t, d.getTime());
    });
    return t;
  }
  function renderCases() {
    var list = $('cases');
    var within = casesWithin();
    var cs = Array.from(state.cases.values()).filter(function (c) { return !within || within.has(c.unit_id); }).sort(function (a, b) {
      var ua = urgency(a), ub = urgency(b);
      if (ua !== ub) return ua < ub ? -1 : 1;
      return (b.heat || 0) - (a.heat || 0);
    });
    clockViews = [];
    var frag = document.createDocumentFragment();
    cs.forEach(function (c) { frag.appendChild(caseView(c)); });
    var top = list.scrollTop;
    clear(list);
    list.appendChild(frag);
    list.scrollTop = top;
    list.dataset.empty = within ? '本单位及下级暂无待办案件' : '暂无待办案件';
    $('cases-note').textContent = within ? '本单位及下级 ' + fmtNum(cs.length) + ' 件' : '';
    tickClocks();
    renderCounters();
  }
  function caseView(c) {
    var li = el('li', 'case');
    li.dataset.id = c.id;
    if ((state.freshCases.get(c.id) || 0) > Date.now()) li.classList.add('fresh');
    if (c.id === panelCase.id && !$('case-panel').hidden) li.classList.add('selected');
    li.addEventListener('click', function (ev) {
      // buttons and links in the item do their own thing
      for (var n = ev.target; n && n !== li; n = n.parentNode) {
        if (/^(BUTTON|A|INPUT|SELECT|TEXTAREA|SUMMARY)$/.test(n.tagName || '')) return;
      }
      openCase(c.id);
    });
    var r1 = el('div', 'row1');
    r1.appendChild(gradeBadge(c.grade));
    if (c.grade && !c.grade_confirmed) r1.lastChild.title = '系统建议分级，待研判确认';
    var tb = el('button', 'title', c.title || '（无标题）');
    tb.type = 'button';
    tb.setAttribute('aria-controls', 'case-panel');
    tb.setAttribute('aria-label', '查看案件详情：' + truncate(c.title || '（无标题）', 60));
    tb.addEventListener('click', function () { openCase(c.id); });
    r1.appendChild(tb);
    r1.appendChild(el('span', 'badge status status-' + (STATUS_ZH[c.status] ? c.status : 'x'), STATUS_ZH[c.status] || c.status || '未知'));
    li.appendChild(r1);
    if (Array.isArray(c.reasons) && c.reasons.length) r1.title = c.reasons.join('\n');

    var unit = el('div', 'unit', '责任单位：' + (c.unit_name || c.unit_id || '未分派'));
    if (c.route_reason) unit.title = c.route_reason;
    li.appendChild(unit);

    var ul = el('ul', 'clocks');
    (c.clocks || []).forEach(function (k) {
      var row = el('li', 'clock');
      var name = el('span', 'name', (k.name || k.kind) + (k.hours ? '（' + k.hours + '小时）' : ''));
      row.appendChild(name);
      var remain = el('span', 'remain');
      if (k.stopped_at) {
        var due = toDate(k.due_at), stop = toDate(k.stopped_at);
        var late = due && stop && stop > due;
        row.classList.add('stopped');
        var wrap = el('span', 'remain', (late ? '超时完成 ' : '已完成 ') + fmtTime(k.stopped_at));
        if (late) wrap.classList.add('late');
        if (k.evidence_url) {
          wrap.appendChild(document.createTextNode(' · '));
          wrap.appendChild(link('证据', k.evidence_url));
        }
        row.appendChild(wrap);
      } else {
        row.appendChild(remain);
        clockViews.push({ row: row, base: 'clock', remain: remain, clock: k, item: li });
      }
      ul.appendChild(row);
    });
    li.appendChild(ul);

    var acts = el('div', 'actions');
    if (c.status === 'open') {
      var sign = el('button', 'btn primary', '签收');
      sign.type = 'button';
      sign.addEventListener('click', function () { doSign(c, sign); });
      acts.appendChild(sign);
    }
    if (c.status !== 'answered' && c.status !== 'closed') {
      var resp = el('button', 'btn', '回应');
      resp.type = 'button';
      resp.addEventListener('click', function () { doRespond(c, resp); });
      acts.appendChild(resp);
    }
    if (acts.childNodes.length) li.appendChild(acts);
    return li;
  }
  // tickClocks updates every running countdown: amber under 25% left, red when overdue.
  function clockState(k, now) {
    var due = toDate(k.due_at);
    if (!due) return { cls: 'ok', text: '期限未知', title: '' };
    var cls = 'ok', text;
    var left = due.getTime() - now;
    var total = (k.hours || 0) * 3600e3;
    if (!total) { var st = toDate(k.started_at); total = st ? due - st : 0; }
    if (left <= 0) { cls = 'overdue'; text = '已超时 ' + fmtDur(-left); }
    else { if (total && left < total * 0.25) cls = 'warn'; text = '剩余 ' + fmtDur(left); }
    return { cls: cls, text: text, title: '截止 ' + due.toLocaleString('zh-CN', { hour12: false }) };
  }
  function tickClocks() {
    var now = Date.now();
    var items = new Map();
    clockViews.concat(panelCase.clockViews).forEach(function (v) {
      var s = clockState(v.clock, now), cls = s.cls;
      if (s.title) v.remain.title = s.title;
      if (v.remain.textContent !== s.text) v.remain.textContent = s.text;
      v.row.className = v.base + ' ' + cls;
      if (v.badge) {
        var bt = cls === 'overdue' ? '已超时' : '进行中';
        if (v.badge.textContent !== bt) v.badge.textContent = bt;
        v.badge.className = 'badge cbadge cbadge-' + (cls === 'overdue' ? 'overdue' : 'running');
      }
      if (!v.item) return;
      var rank = { ok: 0, warn: 1, overdue: 2 };
      var prev = items.get(v.item);
      if (!prev || rank[cls] > rank[prev]) items.set(v.item, cls);
    });
    items.forEach(function (cls, item) {
      item.classList.toggle('overdue', cls === 'overdue');
      item.classList.toggle('warn', cls === 'warn');
    });
  }

  // ---------- case actions ----------
  function actor() {
    var input = $('actor');
    var name = input.value.trim();
    if (!name) {
      name = (window.prompt('请输入值班人姓名（将记入案件处理记录）：') || '').trim();
      if (!name) return null;
      input.value = name;
      saveActor();
    }
    return name;
  }
  function saveActor() {
    try { localStorage.setItem(ACTOR_KEY, $('actor').value.trim()); } catch (e) { /* storage disabled */ }
  }
  // postAction posts one action; opts.onError(msg) and opts.onOk(case) are optional.
  function postAction(c, body, btn, done, opts) {
    opts = opts || {};
    btn.disabled = true;
    fetch('/api/v1/cases/' + encodeURIComponent(c.id) + '/actions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.text().then(function (t) {
        var j = null;
        try { j = t ? JSON.parse(t) : null; } catch (e) { /* not JSON */ }
        if (!r.ok) throw new Error((j && (j.error || j.message)) || ('HTTP ' + r.status));
        return j;
      });
    }).then(function (j) {
      var updated = j && (j.case || (j.id && j.status ? j : null));
      if (updated) upsertCase(updated);
      toast(done);
      if (opts.onOk) opts.onOk(updated);
      if (panelCase.id === c.id && !$('case-panel').hidden) loadCaseDetail();
    }).catch(function (err) {
      toast('操作失败：' + err.message, true);
      if (opts.onError) opts.onError(err.message);
    }).then(function () { btn.disabled = false; });
  }
  function doSign(c, btn) {
    var who = actor();
    if (!who) return;
    postAction(c, { action: 'sign', actor: who, note: '' }, btn, '已签收：' + truncate(c.title, 30));
  }
  function doRespond(c, btn) {
    var who = actor();
    if (!who) return;
    var u = window.prompt('请输入回应证据的网址（权威信息发布、回应稿、发布会通稿等）：', '');
    if (u === null) return;
    u = u.trim();
    if (!safeHref(u) || !/^https?:/i.test(u)) { toast('请输入以 http 或 https 开头的完整网址', true); return; }
    postAction(c, { action: 'respond', actor: who, note: '', evidence_url: u }, btn, '已记录回应：' + truncate(c.title, 30));
  }

  // ---------- case detail panel ----------
  // Opened from the case list: clocks, evaluation, matching government
  // records (one click to use one as evidence), the audit trail, transfer
  // and merge. Refetched whenever the stream says the case changed.
  function findCaseTitle(id) {
    var items = $('cases').childNodes;
    for (var i = 0; i < items.length; i++) {
      if (!items[i].dataset || items[i].dataset.id !== id) continue;
      var kids = items[i].firstChild ? items[i].firstChild.childNodes : [];
      for (var j = 0; j < kids.length; j++) if (kids[j].tagName === 'BUTTON') return kids[j];
    }
    return null;
  }
  function markSelected() {
    var open = !$('case-panel').hidden;
    $('cases').childNodes.forEach(function (li) {
      if (li.classList) li.classList.toggle('selected', open && !!li.dataset && li.dataset.id === panelCase.id);
    });
  }
  function opError(msg) {
    var e = $('case-op-error');
    e.textContent = msg || '';
    e.hidden = !msg;
  }
  function hideOtherPanels(keep) {
    if (keep !== 'search') $('search-panel').hidden = true;
    if (keep !== 'sources') showSources(false);
    if (keep !== 'case') showCase(false);
    if (keep !== 'units') showUnits(false);
  }
  function openCase(id) {
    if (!id || typeof id !== 'string') return;
    var p = $('case-panel');
    var same = panelCase.id === id && !p.hidden;
    if (p.hidden) {
      hideOtherPanels('case');
      p.hidden = false;
    }
    if (!same) {
      panelCase.id = id;
      panelCase.data = null;
      panelCase.clockViews = [];
      ['case-head', 'case-clocks', 'case-report', 'case-records', 'case-deliveries', 'case-trail'].forEach(function (x) { clear($(x)); });
      $('case-summary').textContent = '加载中…';
      $('case-transfer-unit').value = '';
      ['case-transfer-note', 'case-merge-into', 'case-merge-note'].forEach(function (x) { $(x).value = ''; });
      opError('');
      $('case-scroll').scrollTop = 0;
    }
    markSelected();
    $('case-close').focus();
    loadCaseDetail();
    loadUnits();
  }
  function showCase(open) {
    var p = $('case-panel');
    if (open || p.hidden) return;
    var id = panelCase.id;
    var hadFocus = document.activeElement && p.contains(document.activeElement);
    p.hidden = true;
    panelCase.id = null;
    panelCase.data = null;
    panelCase.clockViews = [];
    panelCase.seq++;
    clearTimeout(panelCase.timer);
    markSelected();
    if (hadFocus) {
      var back = findCaseTitle(id);
      if (back) back.focus();
    }
  }
  function scheduleCaseRefresh() {
    clearTimeout(panelCase.timer);
    panelCase.timer = setTimeout(loadCaseDetail, 150);
  }
  function loadCaseDetail() {
    clearTimeout(panelCase.timer);
    var id = panelCase.id;
    if (!id || $('case-panel').hidden) return Promise.resolve();
    var seq = ++panelCase.seq;
    return getJSON('/api/v1/cases/' + encodeURIComponent(id)).then(function (j) {
      if (seq !== panelCase.seq || id !== panelCase.id) return;
      if (!j || !j.case || typeof j.case !== 'object') throw new Error('服务器未返回案件');
      panelCase.data = j;
      renderCaseDetail(j);
    }).catch(function (err) {
      if (seq !== panelCase.seq || id !== panelCase.id) return;
      $('case-summary').textContent = '加载失败：' + err.message;
    });
  }
  function clockNameOf(c, kind) {
    var k = (c.clocks || []).find(function (x) { return x && x.kind === kind; });
    return (k && (k.name || k.kind)) || kind;
  }
  function renderCaseDetail(j) {
    var c = j.case;
    var sc = $('case-scroll');
    var top = sc.scrollTop;
    $('case-summary').textContent = '编号 ' + truncate(c.id, 40) + ' · 更新于 ' + fmtTime(j.now || new Date().toISOString());
    renderCaseHead(c);
    renderCaseClocks(c, j.report || {});
    renderCaseReport(c, j.report || {});
    renderCaseRecords(c, Array.isArray(j.records) ? j.records : []);
    renderCaseDeliveries(Array.isArray(j.deliveries) ? j.deliveries : []);
    renderCaseTrail(Array.isArray(c.actions) ? c.actions : []);
    fillUnitSelect();
    sc.scrollTop = top;
  }
  function renderCaseHead(c) {
    var h = $('case-head');
    clear(h);
    var r1 = el('div', 'row1');
    r1.appendChild(el('h3', 'case-title', c.title || '（无标题）'));
    r1.appendChild(el('span', 'badge status status-' + (STATUS_ZH[c.status] ? c.status : 'x'), STATUS_ZH[c.status] || c.status || '未知'));
    h.appendChild(r1);

    var g = el('div', 'line grades');
    g.appendChild(gradeBadge(c.grade));
    g.appendChild(el('span', c.grade_confirmed ? 'confirmed' : 'proposed', c.grade_confirmed ? '已研判确认' : '系统建议分级，待研判确认'));
    var pg = Number(c.proposed_grade) || 0;
    if (c.grade_confirmed && GRADE_ROMAN[pg] && pg !== Number(c.grade)) {
      g.appendChild(el('span', 'dim', '（系统建议为 ' + GRADE_ROMAN[pg] + '级 ' + GRADE_ZH[pg] + '）'));
    }
    if (c.response_type) g.appendChild(el('span', 'dim', '回应方式：' + c.response_type));
    h.appendChild(g);

    var u = el('div', 'line unit', '责任单位：' + (c.unit_name || c.unit_id || '未分派'));
    if (c.unit_id && c.unit_name) u.appendChild(el('span', 'dim', '（' + c.unit_id + '）'));
    h.appendChild(u);
    if (c.route_reason) h.appendChild(el('div', 'line route', '分派依据：' + c.route_reason));

    var t = el('div', 'stats');
    statSpan(t, '立案', fmtStamp(c.created_at));
    if (toDate(c.first_post_at)) statSpan(t, '首条信息', fmtStamp(c.first_post_at));
    statSpan(t, '签收', c.signed_at ? fmtStamp(c.signed_at) : '尚未签收');
    if (c.heat) statSpan(t, '热度', Number(c.heat).toFixed(1));
    h.appendChild(t);

    if (c.merged_into) {
      var m = el('div', 'line merged', '已并入案件 ');
      var b = el('button', 'btn ghost', c.merged_into);
      b.type = 'button';
      b.title = '打开该案件';
      b.addEventListener('click', function () { openCase(c.merged_into); });
      m.appendChild(b);
      h.appendChild(m);
    }
    var reasons = Array.isArray(c.reasons) ? c.reasons : [];
    if (reasons.length) {
      var det = el('details', 'reasons');
      det.appendChild(el('summary', null, '分级依据（' + reasons.length + '）'));
      var ul = el('ul');
      reasons.forEach(function (r) { ul.appendChild(el('li', null, r)); });
      det.appendChild(ul);
      h.appendChild(det);
    }
  }
  function renderCaseClocks(c, report) {
    var list = $('case-clocks');
    clear(list);
    panelCase.clockViews = [];
    var reps = Array.isArray(report.clocks) ? report.clocks : [];
    var now = Date.now();
    (c.clocks || []).forEach(function (k) {
      if (!k || typeof k !== 'object') return;
      var rep = reps.find(function (r) { return r && r.kind === k.kind; }) || null;
      var li = el('li', 'dclock');
      var r1 = el('div', 'row1');
      r1.appendChild(el('span', 'name', (k.name || k.kind || '时限') + (k.hours ? '（' + k.hours + '小时）' : '')));
      var badge = el('span', 'badge cbadge');
      r1.appendChild(badge);
      var remain = el('span', 'remain');
      r1.appendChild(remain);
      li.appendChild(r1);

      var due = toDate(k.due_at);
      var d = el('div', 'due', '截止 ' + (due ? fmtStamp(k.due_at) : '未知') + (toDate(k.started_at) ? ' · 起算 ' + fmtStamp(k.started_at) : ''));
      if (due) d.title = due.toLocaleString('zh-CN', { hour12: false });
      li.appendChild(d);

      if (k.stopped_at) {
        var stop = toDate(k.stopped_at);
        var late = rep ? !!rep.overdue : !!(due && stop && stop > due);
        li.className = 'dclock stopped' + (late ? ' late' : '');
        remain.textContent = (late ? '超时完成 ' : '已完成 ') + fmtStamp(k.stopped_at) + (rep && rep.minutes ? '（用时 ' + fmtMin(rep.minutes) + '）' : '');
        badge.textContent = late ? '超时' : '按时';
        badge.className = 'badge cbadge cbadge-' + (late ? 'overdue' : 'met');
        if (k.evidence_url) {
          var ev = el('div', 'evidence', '证据：');
          ev.appendChild(absLink(truncate(k.evidence_url, 80), k.evidence_url));
          li.appendChild(ev);
        }
      } else {
        panelCase.clockViews.push({ row: li, base: 'dclock', remain: remain, clock: k, item: null, badge: badge });
      }

      var rem = Array.isArray(k.reminders) ? k.reminders.filter(function (x) { return toDate(x); }) : [];
      if (rem.length) {
        var rw = el('div', 'reminders');
        rw.appendChild(el('span', 'dim', '提醒时点：'));
        rem.forEach(function (x) {
          var past = toDate(x).getTime() <= now;
          var chip = el('span', 'chip' + (past ? ' past' : ''), fmtStamp(x));
          chip.title = past ? '已提醒' : '将提醒';
          rw.appendChild(chip);
        });
        li.appendChild(rw);
      }
      if (k.source) li.appendChild(el('div', 'legal', '依据：' + k.source));
      list.appendChild(li);
    });
    tickClocks();
  }
  function effectText(e) {
    var hours = Number(e.hours) || 0;
    var before = Number(e.before) || 0, after = Number(e.after) || 0;
    if (!before) return '回应后' + hours + '小时声量 ' + fmtNum(after) + ' 条（回应前无声量）';
    var pct = Math.round((Number(e.change) || 0) * 100);
    return '回应后' + hours + '小时声量 ' + (pct > 0 ? '+' : '') + pct + '%';
  }
  function renderCaseReport(c, r) {
    var box = $('case-report');
    clear(box);
    var st = el('div', 'stats');
    var sm = Number(r.signed_minutes) || 0;
    statSpan(st, '签收用时', c.signed_at ? fmtMin(sm) : '尚未签收');
    statSpan(st, '按时', fmtNum(r.met));
    statSpan(st, '超时', fmtNum(r.missed));
    statSpan(st, '进行中', fmtNum(r.running));
    box.appendChild(st);
    var ul = el('ul', 'effects');
    (Array.isArray(r.clocks) ? r.clocks : []).forEach(function (k) {
      if (!k) return;
      var li = el('li', k.overdue ? 'bad' : (k.met ? 'good' : null));
      li.appendChild(el('span', 'name', (k.name || k.kind || '时限') + '：'));
      var s;
      if (k.stopped_at) s = '用时 ' + fmtMin(k.minutes) + (k.met ? '，按时' : '，超时');
      else s = k.overdue ? '已超时，尚未回应' : '尚未回应';
      li.appendChild(el('span', null, s));
      if (k.effect && typeof k.effect === 'object') {
        var e = el('span', 'effect' + ((Number(k.effect.change) || 0) < 0 && k.effect.before ? ' down' : ''), effectText(k.effect));
        e.title = '回应前' + (Number(k.effect.hours) || 0) + '小时 ' + fmtNum(k.effect.before) + ' 条，回应后 ' + fmtNum(k.effect.after) + ' 条';
        li.appendChild(document.createTextNode('；'));
        li.appendChild(e);
      }
      ul.appendChild(li);
    });
    if (ul.childNodes.length) box.appendChild(ul);
  }
  function renderCaseRecords(c, recs) {
    var list = $('case-records');
    clear(list);
    recs.forEach(function (m) {
      if (!m || !m.record || typeof m.record !== 'object') return;
      var r = m.record;
      var li = el('li', 'record');
      var r1 = el('div', 'row1');
      r1.appendChild(el('span', 'badge rkind rkind-' + (RECORD_ZH[r.kind] ? r.kind : 'x'), RECORD_ZH[r.kind] || r.kind || '记录'));
      r1.appendChild(absLink(r.title || r.url || '（无标题）', r.url, 'title'));
      if (toDate(r.published_at)) r1.appendChild(el('span', 't', fmtStamp(r.published_at)));
      li.appendChild(r1);
      var meta = el('div', 'stats');
      if (typeof m.score === 'number') statSpan(meta, '相关度', Math.round(m.score * 100) + '%');
      if (r.unit_id) statSpan(meta, '发布单位', r.unit_id);
      li.appendChild(meta);
      var reasons = Array.isArray(m.reasons) ? m.reasons : [];
      if (reasons.length) {
        var ul = el('ul', 'why');
        reasons.forEach(function (x) { ul.appendChild(el('li', null, x)); });
        li.appendChild(ul);
      }
      if (m.evidence) {
        var name = clockNameOf(c, m.evidence);
        var b = el('button', 'btn primary', '作为“' + name + '”的回应证据');
        b.type = 'button';
        if (!absHref(r.url)) {
          b.disabled = true;
          b.title = '该记录没有 http/https 网址，不能作为证据';
        }
        b.addEventListener('click', function () { useAsEvidence(c, m, name, b); });
        var acts = el('div', 'actions');
        acts.appendChild(b);
        li.appendChild(acts);
      }
      list.appendChild(li);
    });
  }
  // every notification of the case still in the outbox: where it went, and
  // whether it arrived, is waiting for its next attempt, or failed and why
  var DELIVERY_ZH = { pending: '待发送', sent: '已送达', failed: '发送失败' };
  var CHANNEL_ZH = { webhook: '接口推送', dingtalk: '钉钉', wecom: '企业微信', feishu: '飞书', email: '邮件', dashboard: '看板' };
  function renderCaseDeliveries(ds) {
    var list = $('case-deliveries');
    clear(list);
    ds.filter(function (d) { return d && typeof d === 'object'; }).forEach(function (d) {
      var li = el('li', 'dlv dlv-' + (DELIVERY_ZH[d.status] ? d.status : 'x'));
      var r1 = el('div', 'row1');
      r1.appendChild(el('span', 'badge', DELIVERY_ZH[d.status] || d.status || '未知'));
      var type = d.type ? '（' + (CHANNEL_ZH[d.type] || d.type) + '）' : '';
      r1.appendChild(el('span', 'chan', truncate(String(d.name || d.channel || '未命名渠道'), 60) + type));
      li.appendChild(r1);
      var parts = ['尝试 ' + (Number(d.attempts) || 0) + ' 次'];
      if (d.done_at) parts.push((d.status === 'sent' ? '送达于 ' : '结束于 ') + fmtStamp(d.done_at, true));
      else if (d.next_at) parts.push('下次尝试 ' + fmtStamp(d.next_at, true));
      li.appendChild(el('div', 'meta', parts.join(' · ')));
      if (d.last_error) li.appendChild(el('div', 'note err', '最后错误：' + truncate(String(d.last_error), 200)));
      list.appendChild(li);
    });
  }
  function renderCaseTrail(actions) {
    var list = $('case-trail');
    clear(list);
    var sorted = actions.filter(function (a) { return a && typeof a === 'object'; }).map(function (a, i) { return { a: a, i: i }; });
    sorted.sort(function (x, y) {
      var tx = toDate(x.a.at), ty = toDate(y.a.at);
      var d = (tx ? tx.getTime() : 0) - (ty ? ty.getTime() : 0);
      return d || ((Number(x.a.id) || 0) - (Number(y.a.id) || 0)) || x.i - y.i;
    });
    sorted.forEach(function (x) {
      var a = x.a;
      var li = el('li', 'act act-' + (ACTION_ZH[a.kind] ? a.kind : 'x'));
      var r1 = el('div', 'row1');
      var t = el('span', 't', fmtStamp(a.at, true));
      if (toDate(a.at)) t.title = toDate(a.at).toLocaleString('zh-CN', { hour12: false });
      r1.appendChild(t);
      r1.appendChild(el('span', 'badge akind', ACTION_ZH[a.kind] || a.kind || '操作'));
      r1.appendChild(el('span', 'actor', a.actor || '（未署名）'));
      li.appendChild(r1);
      if (a.note) li.appendChild(el('div', 'note', a.note));
      if (a.evidence_url) {
        var ev = el('div', 'evidence', '证据：');
        ev.appendChild(absLink(truncate(a.evidence_url, 80), a.evidence_url));
        li.appendChild(ev);
      }
      if (a.origin) li.appendChild(el('div', 'origin', '来源：' + a.origin));
      list.appendChild(li);
    });
  }
  function useAsEvidence(c, m, name, btn) {
    var u = String(m.record.url || '').trim();
    if (!absHref(u)) { toast('该记录没有 http/https 网址，不能作为证据', true); return; }
    var who = actor();
    if (!who) return;
    var kind = m.evidence === 'press_conference' ? 'press_conference' : 'respond';
    opError('');
    postAction(c, { action: kind, actor: who, note: '采用政务记录：' + truncate(m.record.title || u, 80), evidence_url: u }, btn,
      '已记录“' + name + '”的回应证据', { onError: function (msg) { opError('记录证据失败：' + msg); } });
  }

  // units for transfer: fetched once, shown as a tree
  var units = { list: null, loading: null, failed: false };
  function loadUnits() {
    if (units.list || units.loading) return units.loading || Promise.resolve();
    units.loading = getJSON('/api/v1/units').then(function (j) {
      var l = (j && Array.isArray(j.units)) ? j.units : [];
      units.list = l.filter(function (u) { return u && typeof u.id === 'string' && u.id; });
      units.failed = !units.list.length;
      if (units.failed) units.list = null;
    }).catch(function (err) {
      units.failed = true;
      toast('单位列表加载失败：' + err.message + '（转办时可手工输入单位编号）', true);
    }).then(function () {
      units.loading = null;
      fillUnitSelect();
      fillCasesUnit();
      if (state.casesUnit) renderCases(); // the units below the chosen one are known now
    });
    return units.loading;
  }
  function fillUnitSelect() {
    var sel = $('case-transfer-unit');
    var keep = sel.value;
    var cur = panelCase.data && panelCase.data.case ? panelCase.data.case.unit_id : '';
    clear(sel);
    var first = el('option', null, units.list ? '选择接收单位…' : (units.failed ? '单位列表未加载，提交时输入编号' : '单位列表加载中…'));
    first.value = '';
    sel.appendChild(first);
    if (!units.list) { sel.value = ''; return; }
    var seen = appendUnitOptions(sel, cur, true);
    sel.value = keep && keep !== cur && seen.has(keep) ? keep : '';
  }
  // appendUnitOptions adds the units to a select as an indented tree (cur
  // marked 当前, and disabled with disableCur); it gives the ids added.
  function appendUnitOptions(sel, cur, disableCur) {
    var byParent = new Map(), ids = new Set();
    units.list.forEach(function (u) { ids.add(u.id); });
    units.list.forEach(function (u) {
      var p = u.parent_id && ids.has(u.parent_id) && u.parent_id !== u.id ? u.parent_id : '';
      if (!byParent.has(p)) byParent.set(p, []);
      byParent.get(p).push(u);
    });
    var seen = new Set();
    function add(parent, depth) {
      (byParent.get(parent) || []).forEach(function (u) {
        if (seen.has(u.id)) return;
        seen.add(u.id);
        var o = el('option', null, '　'.repeat(Math.min(depth, 8)) + (u.name || u.id) + (u.id === cur ? '（当前）' : ''));
        o.value = u.id;
        o.title = u.id;
        if (u.id === cur && disableCur) o.disabled = true;
        sel.appendChild(o);
        add(u.id, depth + 1);
      });
    }
    add('', 0);
    units.list.forEach(function (u) { if (!seen.has(u.id)) { seen.add(u.id); var o = el('option', null, u.name || u.id); o.value = u.id; sel.appendChild(o); } }); // cycles
    return seen;
  }
  // the case list's unit filter: a unit and every unit below it
  var CASES_UNIT_KEY = 'yuqing.casesUnit';
  function fillCasesUnit() {
    var sel = $('cases-unit');
    clear(sel);
    var all = el('option', null, '全部单位');
    all.value = '';
    sel.appendChild(all);
    var seen = units.list ? appendUnitOptions(sel, '', false) : new Set();
    if (state.casesUnit && !seen.has(state.casesUnit)) {
      var o = el('option', null, state.casesUnit); // chosen before, not (yet) in the list
      o.value = state.casesUnit;
      sel.appendChild(o);
    }
    sel.value = state.casesUnit;
  }
  // casesWithin gives the ids of the chosen unit and the units below it, or
  // null for all units.
  function casesWithin() {
    if (!state.casesUnit) return null;
    var within = new Set([state.casesUnit]);
    if (!units.list) return within;
    for (var grew = true; grew;) {
      grew = false;
      units.list.forEach(function (u) {
        if (u.parent_id && within.has(u.parent_id) && !within.has(u.id)) { within.add(u.id); grew = true; }
      });
    }
    return within;
  }
  function doTransfer(ev) {
    ev.preventDefault();
    var c = panelCase.data && panelCase.data.case;
    if (!c) return;
    opError('');
    var unit = $('case-transfer-unit').value;
    if (!unit && !units.list) {
      unit = (window.prompt('单位列表未能加载，请输入接收单位编号：', '') || '').trim();
    }
    if (!unit) { opError('请选择接收单位'); $('case-transfer-unit').focus(); return; }
    if (unit === c.unit_id) { opError('案件已由该单位办理，无需转办'); return; }
    var note = $('case-transfer-note').value.trim();
    if (!note) { opError('请填写转办理由'); $('case-transfer-note').focus(); return; }
    var who = actor();
    if (!who) return;
    postAction(c, { action: 'transfer', actor: who, note: note, unit_id: unit }, $('case-transfer-btn'), '已转办：' + truncate(c.title, 30), {
      onError: function (msg) { opError('转办失败：' + msg); },
      onOk: function () { $('case-transfer-note').value = ''; $('case-transfer-unit').value = ''; }
    });
  }
  function doMerge(ev) {
    ev.preventDefault();
    var c = panelCase.data && panelCase.data.case;
    if (!c) return;
    opError('');
    var into = $('case-merge-into').value.trim();
    if (!into) { opError('请输入要并入的案件编号'); $('case-merge-into').focus(); return; }
    if (into === c.id) { opError('案件不能并入自己'); return; }
    if (typeof window.confirm === 'function' && !window.confirm('确认将本案并入案件 ' + truncate(into, 40) + '？本案将关闭，转由该案继续办理。')) return;
    var who = actor();
    if (!who) return;
    var note = $('case-merge-note').value.trim();
    postAction(c, { action: 'merge', actor: who, note: note, into: into }, $('case-merge-btn'), '已并入案件 ' + truncate(into, 40), {
      onError: function (msg) { opError('合并失败：' + msg); },
      onOk: function () { $('case-merge-into').value = ''; $('case-merge-note').value = ''; }
    });
  }

  // ---------- units' timeliness (单位时效) ----------
  function showUnits(open) {
    var p = $('units-panel'), btn = $('units-btn');
    if (open === p.hidden) {
      if (open) hideOtherPanels('units');
      p.hidden = !open;
      btn.setAttribute('aria-expanded', open ? 'true' : 'false');
      if (open) {
        loadUnitReport();
        $('units-close').focus();
      } else if (document.activeElement && p.contains(document.activeElement)) {
        btn.focus();
      }
    }
  }
  function decided(u) { return (Number(u.met) || 0) + (Number(u.missed) || 0); }
  var unitReportSeq = 0;
  function loadUnitReport() {
    var seq = ++unitReportSeq;
    $('units-summary').textContent = '加载中…';
    return getJSON('/api/v1/reports/units').then(function (j) {
      if (seq !== unitReportSeq) return;
      var list = ((j && Array.isArray(j.units)) ? j.units : []).filter(function (u) { return u && typeof u === 'object'; });
      // worst first: lowest on-time rate among units with decided clocks, then the most missed; units with nothing decided last
      list.sort(function (a, b) {
        var da = decided(a) > 0, db = decided(b) > 0;
        if (da !== db) return da ? -1 : 1;
        var ra = Number(a.on_time_rate) || 0, rb = Number(b.on_time_rate) || 0;
        if (da && ra !== rb) return ra - rb;
        return ((Number(b.missed) || 0) - (Number(a.missed) || 0)) || ((Number(b.cases) || 0) - (Number(a.cases) || 0)) ||
          String(a.unit_name || a.unit_id || '').localeCompare(String(b.unit_name || b.unit_id || ''), 'zh-CN');
      });
      var rows = $('units-rows');
      clear(rows);
      list.forEach(function (u) { rows.appendChild(unitRow(u)); });
      $('units-empty').hidden = list.length > 0;
      $('units-summary').textContent = '共 ' + list.length + ' 个单位、' + fmtNum(j && j.cases) + ' 件案件，按时率最低的在前';
    }).catch(function (err) {
      if (seq !== unitReportSeq) return;
      $('units-summary').textContent = '加载失败：' + err.message;
    });
  }
  function unitRow(u) {
    var tr = el('tr');
    var name = el('td', 'uname', u.unit_name || u.unit_id || '未分派');
    if (u.unit_id) name.title = u.unit_id;
    tr.appendChild(name);
    tr.appendChild(el('td', 'num', fmtNum(u.cases)));
    var d = decided(u), rate = Math.max(0, Math.min(1, Number(u.on_time_rate) || 0));
    var rt = el('td', 'num rate' + (d ? (rate < 0.6 ? ' bad' : rate < 0.9 ? ' warn' : ' good') : ''), d ? Math.round(rate * 100) + '%' : '—');
    rt.title = '按时 ' + fmtNum(u.met) + '，超时 ' + fmtNum(u.missed) + '，进行中 ' + fmtNum(u.running);
    tr.appendChild(rt);
    var sg = el('td', 'num', (Number(u.signed) || 0) > 0 ? fmtMin(u.median_sign_min) : '—');
    sg.title = '已签收 ' + fmtNum(u.signed) + ' 件';
    tr.appendChild(sg);
    var am = Number(u.median_answer_min) || 0;
    tr.appendChild(el('td', 'num', am > 0 ? fmtMin(am) : ((Number(u.met) || 0) > 0 ? fmtMin(0) : '—')));
    return tr;
  }

  // ---------- crawled sources' health ----------
  // A source that stopped yielding posts looks exactly like a calm day: the
  // header counts silent and broken sources, the panel lists them all.
  function alarming(h) { return !!h && (h.status === 'silent' || h.status === 'broken'); }
  function healthRank(h) { var r = HEALTH_RANK[h.status]; return r === undefined ? 2 : r; }
  function chinaDay(ms) { return new Date(ms + CHINA_MS).toISOString().slice(0, 10); }
  function trimNum(x, digits) { return String(Number(x.toFixed(digits))); }
  function fmtAgo(ms) {
    var m = Math.max(0, Math.floor(ms / 60000));
    if (m < 1) return '不到 1 分钟前';
    if (m < 60) return m + ' 分钟前';
    var h = Math.floor(m / 60);
    if (h < 48) return h + ' 小时前';
    return Math.floor(h / 24) + ' 天前';
  }
  function fmtAbs(d) { return d.toLocaleString('zh-CN', { hour12: false }); }
  // perDay: posts per full day (China time) before today, over at most the
  // last 14 days and not before the source's first run. daily only has the
  // days that gave posts: a day without an entry counts as 0.
  function perDay(h, now) {
    var today = chinaDay(now);
    var daily = (Array.isArray(h.daily) ? h.daily : []).filter(function (d) {
      return d && typeof d.day === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d.day);
    });
    var oldest = daily.reduce(function (m, d) { return !m || d.day < m ? d.day : m; }, '');
    var first = toDate(h.first_run);
    // the crawler keeps 14 entries: beyond that the oldest kept day is the start
    var start = first && daily.length < 14 ? chinaDay(first.getTime()) : oldest;
    if (!start) return null;
    var floor = chinaDay(now - 14 * DAY_MS);
    if (start < floor) start = floor;
    var days = Math.round((Date.parse(today) - Date.parse(start)) / DAY_MS);
    if (!(days > 0)) return null;
    var sum = 0;
    daily.forEach(function (d) { if (d.day >= start && d.day < today) sum += Number(d.n) || 0; });
    return { mean: sum / days, days: days };
  }
  // newerThan: a is the health of a later run than b (messages and the list may cross).
  function newerThan(a, b) {
    var ta = toDate(a.last_run), tb = toDate(b.last_run);
    return !!ta && (!tb || ta.getTime() > tb.getTime());
  }
  function sourceAlarmText(h) {
    var what = h.status === 'broken' ? '故障' : '沉默';
    var why = h.reason ? truncate(h.reason, 120) : (h.status === 'broken' ? '连续抓取失败' : '长时间没有新内容，勿把沉默当作平静');
    return '信息源「' + truncate(h.source, 30) + '」' + what + '：' + why;
  }
  // upsertSource stores h and reports whether the source just turned silent or broken.
  function upsertSource(h) {
    if (!h || typeof h !== 'object' || !h.source || typeof h.source !== 'string') return false;
    var prev = state.sources.get(h.source);
    if (prev && newerThan(prev, h)) return false;
    var had = state.sourcesKnown;
    state.sources.set(h.source, h);
    state.sourcesKnown = true;
    return alarming(h) && (prev ? prev.status !== h.status : had);
  }
  var sourcesScheduled = false;
  function scheduleSources() {
    if (sourcesScheduled) return;
    sourcesScheduled = true;
    setTimeout(function () { sourcesScheduled = false; renderSources(); }, 250);
  }
  function renderSources() {
    var bad = [];
    state.sources.forEach(function (h) { if (alarming(h)) bad.push(h.source); });
    var v = $('c-sources');
    v.textContent = state.sourcesKnown ? fmtNum(bad.length) : '—';
    v.classList.toggle('zero', bad.length === 0);
    var btn = $('sources-btn');
    var title = SOURCES_TITLE;
    if (!state.sourcesKnown) title += '\n信息源状态未知' + (state.sourcesNote ? '：' + state.sourcesNote : '');
    else if (state.sourcesNote) title += '\n' + state.sourcesNote + '；只计打开页面后推送来的信息源';
    if (bad.length) title += '\n' + bad.sort().slice(0, 10).map(function (n) { return truncate(n, 30); }).join('、') + (bad.length > 10 ? ' 等' : '');
    btn.title = title;
    if (!$('sources-panel').hidden) renderSourceList();
  }
  function statSpan(parent, label, value, title) {
    var s = el('span', null, label + ' ');
    s.appendChild(el('b', null, value));
    if (title) s.title = title;
    parent.appendChild(s);
  }
  function sourceView(h, now) {
    var st = HEALTH_ZH[h.status] ? h.status : 'x';
    var li = el('li', 'source health-' + st);
    var r1 = el('div', 'row1');
    r1.appendChild(el('span', 'badge hstat hstat-' + st, HEALTH_ZH[h.status] || h.status || '未知'));
    r1.appendChild(el('span', 'name', h.source));
    var last = toDate(h.last_new);
    var ln = el('span', 'last', last ? '最新内容 ' + fmtAgo(now - last.getTime()) : '尚无新内容');
    if (last) ln.title = '最新内容 ' + fmtAbs(last);
    r1.appendChild(ln);
    li.appendChild(r1);

    var stats = el('div', 'stats');
    var pd = perDay(h, now);
    statSpan(stats, '日均', pd ? (pd.mean >= 10 ? fmtNum(Math.round(pd.mean)) : trimNum(pd.mean, 1)) + ' 条' : '—',
      pd ? '最近 ' + pd.days + ' 个整日（不含今天）平均每天的新内容条数' : '尚无整日数据');
    var runs = Number(h.runs) || 0;
    var rate = Math.min(1, Math.max(0, Number(h.error_rate) || 0));
    statSpan(stats, '错误率', runs ? Math.round(rate * 100) + '%' : '—',
      '近期抓取失败的比例（越近的运行权重越大）；累计 ' + fmtNum(runs) + ' 次运行，失败 ' + fmtNum(h.failed_runs) + ' 次');
    var iv = (Number(h.interval_ns) || 0) / 6e10;
    var next = toDate(h.next_run);
    statSpan(stats, '间隔', iv > 0 ? (iv < 10 ? trimNum(iv, 1) : fmtNum(Math.round(iv))) + ' 分钟' : '—',
      '当前自适应抓取间隔' + (next ? '；下次运行 ' + fmtAbs(next) : ''));
    var ce = Number(h.consecutive_errors) || 0;
    if (ce > 0) statSpan(stats, '连续失败', ce + ' 次', h.last_error ? truncate(h.last_error, 300) : '');
    li.appendChild(stats);
    if (h.reason) li.appendChild(el('div', 'reason', truncate(h.reason, 400)));
    return li;
  }
  var sourcesRenderedAt = 0;
  function renderSourceList() {
    var now = Date.now();
    sourcesRenderedAt = now;
    var hs = Array.from(state.sources.values()).sort(function (a, b) {
      var d = healthRank(a) - healthRank(b);
      return d || String(a.source).localeCompare(String(b.source), 'zh-CN');
    });
    var silent = 0, broken = 0;
    hs.forEach(function (h) { if (h.status === 'silent') silent++; if (h.status === 'broken') broken++; });
    var sum = state.sourcesKnown ? '共 ' + hs.length + ' 个，沉默 ' + silent + ' 个，故障 ' + broken + ' 个' : '状态未知';
    if (state.sourcesNote) sum += '（' + state.sourcesNote + '）';
    $('sources-summary').textContent = sum;
    var list = $('sources-list');
    list.dataset.empty = state.sourcesNote ? '本进程未运行采集；信息源状态有变化时将显示在此' : (state.sourcesKnown ? '暂无信息源' : '信息源状态未加载');
    var frag = document.createDocumentFragment();
    hs.forEach(function (h) { frag.appendChild(sourceView(h, now)); });
    var top = list.scrollTop;
    clear(list);
    list.appendChild(frag);
    list.scrollTop = top;
  }
  function showSources(open) {
    var panel = $('sources-panel'), btn = $('sources-btn');
    if (open === panel.hidden) {
      panel.hidden = !open;
      btn.setAttribute('aria-expanded', open ? 'true' : 'false');
      if (open) {
        hideOtherPanels('sources');
        renderSourceList();
        $('sources-close').focus();
      } else if (document.activeElement && panel.contains(document.activeElement)) {
        btn.focus();
      }
    }
  }
  function loadSources() {
    return getJSON('/api/v1/sources').then(function (j) {
      var list = (j && Array.isArray(j.sources)) ? j.sources : [];
      var had = state.sourcesLoaded, old = state.sources, turned = [];
      state.sources = new Map();
      list.forEach(function (h) {
        if (!h || typeof h !== 'object' || !h.source || typeof h.source !== 'string') return;
        var prev = old.get(h.source);
        if (prev && newerThan(prev, h)) { state.sources.set(h.source, prev); return; }
        state.sources.set(h.source, h);
        if (had && alarming(h) && (!prev || prev.status !== h.status)) turned.push(h);
      });
      state.sourcesNote = (j && typeof j.message === 'string' && !list.length) ? truncate(j.message, 200) : '';
      if (state.sourcesNote) {
        // this process does not crawl: keep what the stream told us
        old.forEach(function (h, name) { if (!state.sources.has(name)) state.sources.set(name, h); });
      } else {
        state.sourcesKnown = true;
      }
      state.sourcesLoaded = true;
      renderSources();
      if (turned.length === 1) toast(sourceAlarmText(turned[0]), true);
      else if (turned.length > 1) {
        toast(turned.length + ' 个信息源转为沉默或故障：' + turned.slice(0, 5).map(function (h) { return '「' + truncate(h.source, 20) + '」'; }).join('') +
          '，请打开“信息源告警”查看，勿把沉默当作平静', true);
      }
    }).catch(function (err) {
      toast('信息源状态加载失败：' + err.message, true);
      renderSources();
    });
  }

  // ---------- search ----------
  // A search is the words typed plus the filters picked by clicking a bar of
  // a distribution or a frequent word (drill-down); each filter shows as a
  // chip above the distributions, and clicking it takes it away.
  var FILTER_LABEL = { event: '事件', sentiment: '情感', category: '分类', region: '地区', unit: '责任单位', keyword: '高频词', min_risk: '谣言风险' };
  var RISK_MIN = { low: null, medium: '0.3', high: '0.7' };  // a band's lower bound as min_risk
  var RISK_MIN_ZH = { '0.3': '≥0.3', '0.7': '≥0.7' };
  var searchState = { q: '', filters: {}, event: null };
  function bars(ul, items, labelOf, clsOf, pick) {
    clear(ul);
    var max = items.reduce(function (m, t) { return Math.max(m, t.count || 0); }, 0) || 1;
    items.forEach(function (t) {
      var li = el('li');
      li.appendChild(el('span', 'term', labelOf(t.term)));
      var b = el('span', 'bar');
      var f = el('span', clsOf ? clsOf(t.term) : null);
      f.style.width = ((t.count || 0) / max * 100).toFixed(1) + '%';
      b.appendChild(f);
      li.appendChild(b);
      li.appendChild(el('span', 'n', fmtNum(t.count)));
      if (pick && t.term && t.count && (!pick.ok || pick.ok(t.term))) pickable(li, '只看“' + labelOf(t.term) + '”', function () { pick(t.term); });
      ul.appendChild(li);
    });
  }
  // pickable makes a node act as a button (click, Enter or Space).
  function pickable(node, title, fn) {
    node.classList.add('pick');
    node.title = title;
    node.setAttribute('role', 'button');
    node.setAttribute('tabindex', '0');
    node.addEventListener('click', fn);
    node.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); fn(); }
    });
  }
  function filterText(k, v) {
    if (k === 'sentiment') return SENTIMENT[v] || v;
    if (k === 'unit') return unitName(v);
    if (k === 'min_risk') return RISK_MIN_ZH[v] || ('≥' + v);
    if (k === 'event' && searchState.event && searchState.event.id === v) return searchState.event.name || searchState.event.title || v;
    return v;
  }
  // unitName gives a unit's name from the units list, once loaded.
  function unitName(id) {
    var u = units.list && units.list.find(function (x) { return x.id === id; });
    return u && u.name ? u.name : id;
  }
  function setFilter(k, v) {
    if (v === null || v === undefined || v === '') delete searchState.filters[k];
    else searchState.filters[k] = String(v);
    runSearch();
  }
  function renderFilters() {
    var box = $('search-filters');
    clear(box);
    Object.keys(searchState.filters).forEach(function (k) {
      var label = (FILTER_LABEL[k] || k) + '：' + truncate(filterText(k, searchState.filters[k]), 30) + ' ×';
      var chip = el('span', 'chip', label);
      pickable(chip, '取消此条件', function () { setFilter(k, null); });
      box.appendChild(chip);
    });
  }
  // the events API filters by category, region and unit; the others are posts' only
  var EVENT_FILTERS = ['category', 'region', 'unit'];
  function queryString(extra, only) {
    var parts = ['q=' + encodeURIComponent(searchState.q)];
    Object.keys(searchState.filters).forEach(function (k) {
      if (!only || only.indexOf(k) >= 0) parts.push(k + '=' + encodeURIComponent(searchState.filters[k]));
    });
    return parts.join('&') + extra;
  }
  // a risk band narrows to its lower bound and above (the low band is all)
  function riskPick(band) { setFilter('min_risk', RISK_MIN[band]); }
  riskPick.ok = function (band) { return !!RISK_MIN[band]; };
  var searchSeq = 0;
  // search starts a new search for the words q, without filters.
  function search(q) {
    searchState = { q: q, filters: {}, event: null };
    if (!units.list && !units.loading && !units.failed) loadUnits();
    runSearch();
  }
  // searchEvent lists the posts of one event (GET /search?event=…) with
  // their distributions, to drill down from there.
  function searchEvent(e) {
    searchState = { q: '', filters: { event: String(e.id) }, event: e };
    $('q').value = '';
    if (!units.list && !units.loading && !units.failed) loadUnits();
    runSearch();
  }
  function runSearch() {
    var seq = ++searchSeq;
    var q = searchState.q, filtered = Object.keys(searchState.filters).length > 0;
    hideOtherPanels('search');
    $('search-panel').hidden = false;
    $('search-summary').textContent = '检索中…';
    renderFilters();
    $('search-export').setAttribute('href', '/api/v1/search?' + queryString('&format=csv'));
    $('search-events-export').setAttribute('href', '/api/v1/events?' + queryString('&format=csv', EVENT_FILTERS));
    clear($('search-hits'));
    clear($('search-events'));
    $('search-events-summary').textContent = '';
    var one = searchState.filters.event ? searchState.event : null;
    if (one && one.id === searchState.filters.event) {
      // the posts of one event: the event itself above them
      $('search-events-summary').textContent = '本事件';
      $('search-events').appendChild(eventView(one, one.heat || 1));
    } else if (!searchState.filters.event) {
      // the events whose name, title or keywords match, hottest first
      getJSON('/api/v1/events?' + queryString('&size=10', EVENT_FILTERS)).then(function (res) {
        if (seq !== searchSeq) return;
        res = res || {};
        var evs = res.events || [];
        $('search-events-summary').textContent = '共 ' + fmtNum(res.total || 0) + ' 个' +
          (evs.length < (res.total || 0) ? '，显示最热的 ' + evs.length + ' 个' : '');
        var max = evs.reduce(function (m, e) { return Math.max(m, e.heat || 0); }, 0) || 1;
        var frag = document.createDocumentFragment();
        evs.forEach(function (e) { frag.appendChild(eventView(e, max)); });
        $('search-events').appendChild(frag);
      }).catch(function (err) {
        if (seq !== searchSeq) return;
        $('search-events-summary').textContent = '事件检索失败：' + err.message;
      });
    }
    getJSON('/api/v1/search?' + queryString('&size=50')).then(function (res) {
      if (seq !== searchSeq) return;
      res = res || {};
      var hits = res.hits || [];
      $('search-summary').textContent = (q ? '“' + truncate(q, 30) + '” ' : (filtered ? '' : '全部信息 ')) +
        (filtered ? '（已按 ' + Object.keys(searchState.filters).length + ' 个条件筛选）' : '') +
        '共 ' + fmtNum(res.total || 0) + ' 条' +
        (hits.length < (res.total || 0) ? '，显示前 ' + hits.length + ' 条' : '');
      var aggs = res.aggregations || {};
      var pick = function (k) { return function (v) { setFilter(k, v); }; };
      bars($('agg-sentiment'), aggs.by_sentiment || [], function (t) { return SENTIMENT[t] || t || '未知'; }, function (t) { return 's-' + t; }, pick('sentiment'));
      bars($('agg-category'), (aggs.by_category || []).slice(0, 12), function (t) { return t || '未分类'; }, null, pick('category'));
      bars($('agg-region'), (aggs.by_region || []).slice(0, 12), function (t) { return t || '未知'; }, null, pick('region'));
      bars($('agg-unit'), (aggs.by_unit || []).slice(0, 12), function (t) { return t ? unitName(t) : '未分派'; }, null, pick('unit'));
      bars($('agg-risk'), (aggs.by_risk || []).map(function (b) { return { term: b.band, count: b.count }; }),
        function (t) { return RISK_BAND[t] || t; }, function (t) { return RISK_BAND_CLASS[t] || null; },
        riskPick);
      var kw = $('agg-keywords');
      clear(kw);
      (aggs.top_keywords || []).slice(0, 20).forEach(function (t) {
        var chip = el('span', 'chip', t.term);
        if (t.term) pickable(chip, fmtNum(t.count) + ' 条；点击只看含“' + t.term + '”的信息', function () { setFilter('keyword', t.term); });
        kw.appendChild(chip);
      });
      var list = $('search-hits');
      var frag = document.createDocumentFragment();
      hits.forEach(function (h) { frag.appendChild(postView(h, false)); });
      list.appendChild(frag);
    }).catch(function (err) {
      if (seq !== searchSeq) return;
      $('search-summary').textContent = '检索失败：' + err.message;
    });
  }

  // ---------- initial load and live stream ----------
  function load() {
    var evs = getJSON('/api/v1/events?limit=20').then(function (j) {
      ((j && j.events) || []).forEach(upsertEvent);
      renderEvents();
    }).catch(function (err) { toast('热点事件加载失败：' + err.message, true); });
    // the newest open cases, and every overdue one however old, so that
    // the overdue list and counter miss none
    var cs = Promise.all([
      getJSON('/api/v1/cases?open=1&limit=' + CASES_LOADED),
      getJSON('/api/v1/cases?open=1&overdue=1&limit=' + CASES_LOADED),
    ]).then(function (rs) {
      state.cases.clear();
      rs.forEach(function (j) {
        ((j && j.cases) || []).forEach(function (c) { if (c && c.id && c.status !== 'closed') state.cases.set(c.id, c); });
      });
      state.casesCapped = ((rs[0] && rs[0].cases) || []).length >= CASES_LOADED;
      state.casesLoaded = true; // from now on a case the page has not seen is new
      renderCases();
    }).catch(function (err) { toast('待办案件加载失败：' + err.message, true); });
    return Promise.all([evs, cs, loadSources()]);
  }

  var backoff = 1000, ws = null, retryTimer = 0, everOpen = false;
  function connect() {
    var url = (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + '/api/v1/stream';
    setConn('connecting', '连接中…');
    try { ws = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
    ws.onopen = function () {
      setConn('open', '实时连接正常');
      backoff = 1000;
      if (everOpen) { load(); scheduleCaseRefresh(); } // catch up on what changed while we were away
      everOpen = true;
    };
    ws.onmessage = function (ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (!m || typeof m !== 'object') return;
      switch (m.type) {
        case 'post': if (m.data) onPost(m.data); break;
        case 'event': upsertEvent(m.data); break;
        case 'case':
          announceNewCase(m.data);
          upsertCase(m.data);
          if (m.data && m.data.id && m.data.id === panelCase.id) scheduleCaseRefresh();
          break;
        case 'source':
          if (upsertSource(m.data)) toast(sourceAlarmText(m.data), true);
          scheduleSources();
          break;
        case 'stats':
          if (m.data) {
            state.dropped = Number(m.data.dropped) || 0;
            state.posts = Number(m.data.posts) || 0;
            renderCounters();
          }
          break;
      }
    };
    ws.onclose = function () { ws = null; scheduleReconnect(); };
    ws.onerror = function () { /* onclose follows */ };
  }
  function scheduleReconnect() {
    clearTimeout(retryTimer);
    var wait = Math.round(backoff * (0.8 + Math.random() * 0.4));
    backoff = Math.min(backoff * 2, 30000);
    var until = Date.now() + wait;
    setConn(everOpen ? 'retry' : 'down', '连接中断，' + Math.ceil(wait / 1000) + ' 秒后重连');
    var countdown = setInterval(function () {
      var s = Math.ceil((until - Date.now()) / 1000);
      if (s > 0) $('conn-text').textContent = '连接中断，' + s + ' 秒后重连';
    }, 1000);
    retryTimer = setTimeout(function () { clearInterval(countdown); connect(); }, wait);
  }

  // ---------- wiring ----------
  // The drawers open below the header, whose height depends on the width.
  function measureHeader() {
    var h = $('top'), root = document.documentElement;
    if (h && h.offsetHeight && root && root.style && root.style.setProperty) root.style.setProperty('--header-h', h.offsetHeight + 'px');
  }
  function init() {
    measureHeader();
    if (typeof window.addEventListener === 'function') window.addEventListener('resize', measureHeader);
    try { $('actor').value = localStorage.getItem(ACTOR_KEY) || ''; } catch (e) { /* storage disabled */ }
    try { state.casesUnit = localStorage.getItem(CASES_UNIT_KEY) || ''; } catch (e) { /* storage disabled */ }
    fillCasesUnit();
    loadUnits(); // for the case list's unit filter (and transfers)
    document.addEventListener('visibilitychange', function () {
      if (!document.hidden && unseenCases) { unseenCases = 0; document.title = baseTitle; }
    });
    $('cases-unit').addEventListener('change', function () {
      state.casesUnit = $('cases-unit').value;
      try { localStorage.setItem(CASES_UNIT_KEY, state.casesUnit); } catch (e) { /* storage disabled */ }
      renderCases();
    });
    $('actor').addEventListener('change', saveActor);
    $('search-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      search($('q').value.trim());
    });
    $('search-close').addEventListener('click', function () { $('search-panel').hidden = true; });
    $('sources-btn').addEventListener('click', function () { showSources($('sources-panel').hidden); });
    $('sources-close').addEventListener('click', function () { showSources(false); });
    $('case-close').addEventListener('click', function () { showCase(false); });
    $('case-transfer-form').addEventListener('submit', doTransfer);
    $('case-merge-form').addEventListener('submit', doMerge);
    $('units-btn').addEventListener('click', function () { showUnits($('units-panel').hidden); });
    $('units-close').addEventListener('click', function () { showUnits(false); });
    $('units-refresh').addEventListener('click', loadUnitReport);
    document.addEventListener('keydown', function (ev) {
      if (ev.key === 'Escape') { $('search-panel').hidden = true; showSources(false); showCase(false); showUnits(false); }
      if (ev.key === '/' && document.activeElement && document.activeElement.tagName !== 'INPUT') { ev.preventDefault(); $('q').focus(); }
    });
    $('feed-pause').addEventListener('click', function () {
      state.paused = !state.paused;
      this.textContent = state.paused ? '继续' : '暂停';
      if (!state.paused) scheduleFeed();
      updateFeedRate();
    });
    tickNow();
    setInterval(function () {
      tickNow(); tickClocks(); updateFeedRate(); renderCounters();
      if (!$('sources-panel').hidden && Date.now() - sourcesRenderedAt > 30000) renderSourceList(); // relative times
    }, 1000);
    load();
    connect();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
})();
