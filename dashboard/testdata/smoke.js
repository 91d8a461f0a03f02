// Smoke test of static/app.js in node with a minimal fake DOM, fake fetch and
// fake WebSocket: loads, applies stream messages, clicks case buttons, searches,
// shows the crawled sources' health, opens a case's detail panel (clocks,
// report, records, trail, transfer, merge) and the units' timeliness.
// Usage: node smoke.js index.html app.js   (prints "ok" or exits 1)
'use strict';
const fs = require('fs');
const vm = require('vm');
const assert = require('assert');

const [htmlPath, jsPath] = process.argv.slice(2);
const html = fs.readFileSync(htmlPath, 'utf8');
const js = fs.readFileSync(jsPath, 'utf8');

// ---------- fake DOM ----------
class Node {
  constructor(tag, text) {
    this.tagName = tag ? tag.toUpperCase() : '#text';
    this.isText = !tag;
    this.childNodes = [];
    this.parentNode = null;
    this._text = text || '';
    this.className = '';
    this.dataset = {};
    this.style = {};
    this.listeners = {};
    this.hidden = false;
    this.title = '';
    this.value = '';
    this.open = false;
    this.disabled = false;
    this.scrollTop = 0;
    const self = this;
    this.classList = {
      add(c) { const s = self.className.split(/\s+/).filter(Boolean); if (!s.includes(c)) s.push(c); self.className = s.join(' '); },
      remove(c) { self.className = self.className.split(/\s+/).filter((x) => x && x !== c).join(' '); },
      toggle(c, on) { if (on === undefined) on = !this.contains(c); if (on) this.add(c); else this.remove(c); return on; },
      contains(c) { return self.className.split(/\s+/).includes(c); },
    };
  }
  get firstChild() { return this.childNodes[0] || null; }
  get lastChild() { return this.childNodes[this.childNodes.length - 1] || null; }
  appendChild(c) { return this.insertBefore(c, null); }
  insertBefore(c, ref) {
    const kids = c.isFragment ? c.childNodes.splice(0) : [c];
    for (const k of kids) {
      if (c.isFragment) k.parentNode = null;
      if (k.parentNode) k.parentNode.removeChild(k);
      k.parentNode = this;
      const i = ref ? this.childNodes.indexOf(ref) : -1;
      if (i < 0) this.childNodes.push(k); else this.childNodes.splice(i, 0, k);
    }
    return c;
  }
  removeChild(c) {
    const i = this.childNodes.indexOf(c);
    if (i < 0) throw new Error('removeChild: not a child');
    this.childNodes.splice(i, 1);
    c.parentNode = null;
    return c;
  }
  get textContent() { return this._text + this.childNodes.map((c) => c.textContent).join(''); }
  set textContent(v) { this.childNodes = []; this._text = String(v); }
  addEventListener(t, fn) { (this.listeners[t] = this.listeners[t] || []).push(fn); }
  setAttribute(k, v) { (this.attrs = this.attrs || {})[k] = String(v); }
  getAttribute(k) { return this.attrs && k in this.attrs ? this.attrs[k] : null; }
  focus() { document.activeElement = this; }
  contains(n) { for (; n; n = n.parentNode) if (n === this) return true; return false; }
  dispatch(t, ev) { ev = Object.assign({ preventDefault() {}, target: this }, ev || {}); (this.listeners[t] || []).forEach((fn) => fn.call(this, ev)); }
  // find every descendant matching pred
  all(pred) { const out = []; const walk = (n) => { n.childNodes.forEach((c) => { if (pred(c)) out.push(c); walk(c); }); }; walk(this); return out; }
  byClass(c) { return this.all((n) => n.classList && n.classList.contains(c)); }
  byTag(t) { return this.all((n) => n.tagName === t.toUpperCase()); }
}
for (const bad of ['innerHTML', 'outerHTML']) {
  Object.defineProperty(Node.prototype, bad, { set() { throw new Error(bad + ' used'); }, get() { throw new Error(bad + ' used'); } });
}
Node.prototype.insertAdjacentHTML = () => { throw new Error('insertAdjacentHTML used'); };

const byId = {};
for (const m of html.matchAll(/<([a-z0-9]+)[^>]*\sid="([^"]+)"/g)) byId[m[2]] = new Node(m[1]);
for (const m of html.matchAll(/<[^>]*\sid="([^"]+)"[^>]*\shidden/g)) byId[m[1]].hidden = true;
const body = new Node('body');
const baseTitle = '政务舆情监测';
const document = {
  readyState: 'complete',
  title: baseTitle,
  hidden: false,
  activeElement: body,
  getElementById: (id) => byId[id] || null,
  createElement: (t) => new Node(t),
  createTextNode: (t) => new Node(null, t),
  createDocumentFragment: () => { const f = new Node('#fragment'); f.isFragment = true; return f; },
  listeners: {},
  addEventListener(t, fn) { (this.listeners[t] = this.listeners[t] || []).push(fn); },
  dispatch(t, ev) { ev = Object.assign({ preventDefault() {}, target: this.activeElement }, ev || {}); (this.listeners[t] || []).forEach((fn) => fn.call(this, ev)); },
};
// the panels are children of body, so that focus can be traced to them
for (const id of ['search-panel', 'sources-panel']) body.appendChild(byId[id]);
for (const id of ['sources-summary', 'sources-close', 'sources-list']) byId['sources-panel'].appendChild(byId[id]);
for (const id of ['case-panel', 'units-panel']) body.appendChild(byId[id]);
for (const id of ['case-summary', 'case-close', 'case-scroll', 'case-head', 'case-clocks', 'case-report', 'case-records', 'case-trail', 'case-op-error',
  'case-transfer-form', 'case-transfer-unit', 'case-transfer-note', 'case-transfer-btn', 'case-merge-form', 'case-merge-into', 'case-merge-note', 'case-merge-btn']) {
  byId['case-panel'].appendChild(byId[id]);
}
for (const id of ['units-summary', 'units-refresh', 'units-close', 'units-rows', 'units-empty']) byId['units-panel'].appendChild(byId[id]);

// ---------- fake network ----------
const now = Date.now();
const iso = (ms) => new Date(now + ms).toISOString();
const H = 3600e3;
const evil = '<img src=x onerror=alert(1)>';
const events = [
  { id: 'e1', title: '某市暴雨内涝 ' + evil, heat: 40, grade: 2, posts: 1200, negative: 600, peak_hourly: 300, reasons: ['一小时 300 条', '负面过半'], keywords: ['暴雨'], last_at: iso(-60e3) },
  { id: 'e2', title: '学校食堂问题', heat: 90, grade: 1, posts: 5000, negative: 100, peak_hourly: 900, reasons: ['涉及未成年人'], last_at: iso(-1e3) },
  { id: 'e3', title: '小区停水', heat: 5, grade: 0, posts: 10, negative: 0, peak_hourly: 3, reasons: [], last_at: iso(-1e3) },
];
const clock = (name, hours, startedAgo, stopped) => ({ kind: 'k', name, hours, started_at: iso(-startedAgo), due_at: iso(hours * H - startedAgo), stopped_at: stopped ? iso(-1000) : undefined, evidence_url: stopped ? 'javascript:alert(1)' : undefined });
const cases = [
  { id: 'c-ok', unit_id: 'u-water', title: '正常案件', status: 'open', grade: 3, unit_name: '市水务局', clocks: [clock('回应关切', 48, 1 * H)] },
  { id: 'c-warn', unit_id: 'u-dist', title: '将到期案件', status: 'signed', grade: 4, unit_name: '区政府', clocks: [clock('回应关切', 48, 40 * H)] },
  { id: 'c-late', unit_id: 'u-city', title: '超时案件 ' + evil, status: 'assessed', grade: 1, unit_name: '市政府', clocks: [clock('发布权威信息', 5, 6 * H), clock('召开新闻发布会', 24, 6 * H)] },
  { id: 'c-done', unit_id: 'u-edu', title: '已回应案件', status: 'answered', grade: 3, unit_name: '市教育局', clocks: [clock('回应关切', 48, 2 * H, true)] },
];
const M = 60e3;
const D = 24 * H;
const chinaDay = (ms) => new Date(ms + 8 * H).toISOString().slice(0, 10);
let sources = [
  { source: 's-ok', status: 'ok', interval_ns: 7.5 * M * 1e6, first_run: iso(-3 * D), last_run: iso(-M), last_new: iso(-5 * M), runs: 40, failed_runs: 0, error_rate: 0, items: 142,
    daily: [{ day: chinaDay(now - 2 * D), n: 12 }, { day: chinaDay(now - D), n: 30 }, { day: chinaDay(now), n: 100 }] },
  { source: 's-silent', status: 'silent', reason: '已 1.5 小时 没有新内容 ' + evil, interval_ns: 45 * M * 1e6, last_run: iso(-2 * M), last_new: iso(-90 * M), runs: 8, failed_runs: 2, error_rate: 0.25 },
  { source: 's-new', status: 'new', reason: '尚未运行', interval_ns: 30 * M * 1e6, runs: 0 },
  { source: 's-broken', status: 'broken', reason: '连续 3 次抓取失败：HTTP 503', interval_ns: 240 * M * 1e6, last_run: iso(-3 * M), runs: 9, failed_runs: 9, error_rate: 0.9, consecutive_errors: 3, last_error: 'HTTP 503' },
];
// the detail of c-late: one clock running past its deadline, one stopped with a hostile evidence URL
const recURL = 'https://gov.example/records/1';
const confURL = 'https://gov.example/records/3';
const legal = '《国务院办公厅关于在政务公开工作中进一步做好政务舆情回应的通知》（国办发〔2016〕61号）';
const detailActions = [
  { id: 3, case_id: 'c-late', kind: 'remind', actor: '系统', note: '距“发布权威信息”截止还有 1 小时', at: iso(-2 * H), origin: 'alerting@node1' },
  { id: 1, case_id: 'c-late', kind: 'open', actor: '系统', note: '自动立案', at: iso(-6 * H), origin: 'alerting@node1' },
  { id: 2, case_id: 'c-late', kind: 'sign', actor: '李四', note: evil, at: iso(-5 * H), origin: '10.0.0.8 ' + evil },
  { id: 4, case_id: 'c-late', kind: 'press_conference', actor: '王五', note: '发布会', evidence_url: 'javascript:alert(1)', at: iso(-1 * H), origin: '10.0.0.9' },
];
const detail = () => ({
  case: Object.assign({}, cases[2], {
    proposed_grade: 2, grade: 1, grade_confirmed: true, unit_id: 'u-city', unit_name: '市政府', route_reason: '事发地“某市”属市政府管辖 ' + evil,
    response_type: '权威信息', created_at: iso(-6 * H), first_post_at: iso(-7 * H), signed_at: iso(-5 * H), heat: 88.5,
    clocks: [
      { kind: 'authoritative_release', name: '发布权威信息', hours: 5, started_at: iso(-6 * H), due_at: iso(-1 * H), reminders: [iso(-3.5 * H), iso(-2 * H)], source: legal },
      { kind: 'press_conference', name: '召开新闻发布会', hours: 24, started_at: iso(-6 * H), due_at: iso(18 * H), stopped_at: iso(-1 * H), evidence_url: 'javascript:alert(1)', source: legal + evil },
    ],
    actions: detailActions.slice(),
  }),
  report: { case_id: 'c-late', signed_minutes: 60, met: 1, missed: 1, running: 0, clocks: [
    { kind: 'authoritative_release', name: '发布权威信息', due_at: iso(-1 * H), met: false, overdue: true },
    { kind: 'press_conference', name: '召开新闻发布会', due_at: iso(18 * H), stopped_at: iso(-1 * H), minutes: 300, met: true, overdue: false, effect: { hours: 6, before: 250, after: 70, change: -0.72 } },
  ] },
  records: [
    { record: { id: 'r1', kind: 'disclosure', title: '关于某市暴雨内涝情况的通报', url: recURL, unit_id: 'u-city', published_at: iso(-30 * M) }, score: 0.82,
      reasons: ['共同关键词：暴雨、内涝', '立案后由本单位系统发布，可作为“发布权威信息”的证据'], evidence: 'authoritative_release' },
    { record: { id: 'r2', kind: 'interpretation', title: '政策解读 ' + evil, url: 'javascript:alert(1)', published_at: iso(-D) }, score: 0.4, reasons: ['标题相近 ' + evil] },
    { record: { id: 'r3', kind: 'disclosure', title: '新闻发布会实录', url: confURL, unit_id: 'u-city', published_at: iso(-20 * M) }, score: 0.5, reasons: ['标题相近'], evidence: 'press_conference' },
  ],
  deliveries: [
    { channel: 'dingtalk:ab12', name: '市值班群 ' + evil, type: 'dingtalk', status: 'sent', attempts: 1, created_at: iso(-6 * H), done_at: iso(-6 * H) },
    { channel: 'webhook:cd34', type: 'webhook', status: 'pending', attempts: 2, created_at: iso(-1 * H), next_at: iso(10 * M), last_error: 'HTTP 503 ' + evil },
    { channel: 'email:ef56', name: '值班邮箱', type: 'email', status: 'failed', attempts: 8, created_at: iso(-2 * H), done_at: iso(-1 * H), last_error: 'smtp: 550 mailbox unavailable' },
  ],
  now: iso(0),
});
const units = [
  { id: 'u-water', name: '市水务局', parent_id: 'u-city' },
  { id: 'u-city', name: '市政府' },
  { id: 'u-dist', name: '某区政府 ' + evil, parent_id: 'u-city' },
  { id: 'u-street', name: '某街道', parent_id: 'u-dist' },
];
const unitReport = { cases: 10, units: [
  { unit_id: 'u-none', unit_name: '', cases: 2, signed: 0, met: 0, missed: 0, running: 2, on_time_rate: 0, median_sign_min: 0, median_answer_min: 0 },
  { unit_id: 'u-water', unit_name: '市水务局', cases: 5, signed: 5, met: 4, missed: 1, running: 0, on_time_rate: 0.8, median_sign_min: 12.5, median_answer_min: 200 },
  { unit_id: 'u-city', unit_name: '市政府 ' + evil, cases: 3, signed: 2, met: 1, missed: 2, running: 1, on_time_rate: 1 / 3, median_sign_min: 95, median_answer_min: 290 },
] };
const calls = [];
const everFetched = new Set();
function respond(status, obj) {
  return Promise.resolve({ ok: status < 300, status, text: () => Promise.resolve(JSON.stringify(obj)) });
}
function fetch(url, opts) {
  calls.push({ url, opts: opts || {} });
  everFetched.add(url);
  if (url.startsWith('/api/v1/events?limit=20')) return respond(200, { events });
  // the overdue case comes only with the overdue query: the page must merge both
  if (url.startsWith('/api/v1/cases?open=1&overdue=1&limit=')) return respond(200, { cases: cases.filter((c) => c.id === 'c-late') });
  if (url.startsWith('/api/v1/cases?open=1&limit=')) return respond(200, { cases: cases.filter((c) => c.id !== 'c-late') });
  if (url === '/api/v1/sources') return respond(200, { sources });
  if (url.startsWith('/api/v1/events?q=')) {
    return respond(200, { total: 4, events: [{ id: 'ev-s1', title: '暴雨事件 ' + evil, heat: 66.5, grade: 2, posts: 120, negative: 60, reasons: ['热度 66.5'] }] });
  }
  if (url.startsWith('/api/v1/search?')) {
    return respond(200, {
      total: 3, hits: [{ id: 'h1', text: '搜索命中 ' + evil, source: 'news', analysis: { sentiment: { label: 'positive' } } }],
      aggregations: { by_sentiment: [{ term: 'negative', count: 2 }, { term: 'positive', count: 1 }, { term: 'neutral', count: 0 }], by_region: [{ term: '广州市', count: 3 }], top_keywords: [{ term: '暴雨', count: 3 }],
        by_category: [{ term: '突发事件与灾害', count: 2 }, { term: evil, count: 1 }], by_unit: [{ term: 'u-water', count: 2 }, { term: 'u-gone', count: 1 }],
        by_risk: [{ band: 'low', count: 1 }, { band: 'medium', count: 1 }, { band: 'high', count: 1 }] },
    });
  }
  if (url === '/api/v1/cases/c-late') return respond(200, detail());
  if (url === '/api/v1/units') return respond(200, { units });
  if (url === '/api/v1/reports/units') return respond(200, unitReport);
  const m = url.match(/^\/api\/v1\/cases\/([^/]+)\/actions$/);
  if (m && opts.method === 'POST') {
    const b = JSON.parse(opts.body);
    if (b.action === 'sign') return respond(200, Object.assign({}, cases[0], { status: 'signed' }));
    if (m[1] === 'c-late' && ((b.action === 'respond' && b.evidence_url === recURL) || (b.action === 'press_conference' && b.evidence_url === confURL))) {
      return respond(200, { case: detail().case });
    }
    if (b.action === 'transfer') {
      if (b.unit_id === 'u-water') return respond(200, { case: Object.assign(detail().case, { unit_id: 'u-water', unit_name: '市水务局' }) });
      return respond(400, { error: '接收单位“' + b.unit_id + '”不在组织树中' });
    }
    if (b.action === 'merge') return respond(400, { error: '要并入的案件“' + b.into + '”不存在' });
    return respond(409, { error: '案件状态不允许此操作' });
  }
  return respond(404, { error: 'not found' });
}
const sockets = [];
class WebSocket { constructor(url) { this.url = url; sockets.push(this); } close() {} }
const store = {};
let promptAnswers = [];
const confirms = [];
const window = { prompt: () => promptAnswers.shift(), confirm: (msg) => { confirms.push(msg); return true; } };
const ctx = {
  window, document, fetch, WebSocket, URL, console, Math, Date, JSON, Map, Set, Array, Number, String, Promise, isNaN,
  location: { protocol: 'http:', host: '127.0.0.1:8080', href: 'http' + '://127.0.0.1:8080/' },
  localStorage: { getItem: (k) => store[k] || null, setItem: (k, v) => { store[k] = String(v); } },
  setTimeout, clearTimeout, setInterval: () => 0, clearInterval: () => {},
  requestAnimationFrame: (f) => setTimeout(f, 0),
};
vm.createContext(ctx);
vm.runInContext(js, ctx, { filename: 'app.js' });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const text = (id) => byId[id].textContent;
const send = (obj) => sockets[sockets.length - 1].onmessage({ data: JSON.stringify(obj) });

(async () => {
  await sleep(350);
  // events: sorted by heat, attacker text kept as text
  const evItems = byId.events.childNodes;
  assert.strictEqual(evItems.length, 3);
  assert.strictEqual(evItems[0].byClass('title')[0].textContent, '学校食堂问题');
  assert.strictEqual(evItems[0].byClass('grade')[0].textContent, 'I级 特别重大');
  assert.strictEqual(evItems[1].byClass('title')[0].textContent, '某市暴雨内涝 ' + evil);
  assert.strictEqual(evItems[1].byClass('grade')[0].textContent, 'II级 重大');
  assert.strictEqual(evItems[2].byClass('grade')[0].textContent, '未分级');
  assert.strictEqual(evItems[0].byClass('fill')[0].style.width, '100.0%');
  assert.match(evItems[1].textContent, /峰值 300\/小时/);
  assert.match(evItems[1].byTag('summary')[0].textContent, /分级依据（2）/);
  assert.strictEqual(evItems[1].title, '一小时 300 条\n负面过半');

  // cases: ordered by urgency, countdowns coloured
  const cs = byId.cases.childNodes;
  assert.deepStrictEqual(cs.map((c) => c.byClass('title')[0].textContent), ['超时案件 ' + evil, '将到期案件', '正常案件', '已回应案件']);
  const late = cs[0].byClass('clock');
  assert.strictEqual(late[0].className, 'clock overdue');
  assert.match(late[0].textContent, /已超时 1小时0分/);
  assert.ok(cs[0].classList.contains('overdue'));
  assert.strictEqual(cs[1].byClass('clock')[0].className, 'clock warn');
  assert.match(cs[1].textContent, /剩余 7小时59分/);
  assert.strictEqual(cs[2].byClass('clock')[0].className, 'clock ok');
  assert.match(cs[2].textContent, /剩余 46小时59分/);
  assert.match(cs[3].textContent, /已完成/);
  assert.strictEqual(cs[3].byTag('a').length, 0, 'javascript: evidence must not become a link');
  assert.deepStrictEqual(cs.map((c) => c.byClass('status')[0].textContent), ['已研判', '已签收', '待签收', '已回应']);
  assert.strictEqual(text('c-cases'), '4');
  assert.strictEqual(text('c-overdue'), '1');
  assert.strictEqual(text('c-events'), '3');
  // the case list's unit filter: a unit and the units below it, remembered
  const unitSel = byId['cases-unit'];
  assert.deepStrictEqual(unitSel.childNodes.map((o) => o.value), ['', 'u-city', 'u-water', 'u-dist', 'u-street']);
  const pickUnit = async (id) => { unitSel.value = id; unitSel.dispatch('change'); await sleep(20); };
  await pickUnit('u-dist');
  assert.deepStrictEqual(byId.cases.childNodes.map((c) => c.byClass('title')[0].textContent), ['将到期案件']);
  assert.strictEqual(text('cases-note'), '本单位及下级 1 件');
  assert.strictEqual(ctx.localStorage.getItem('yuqing.casesUnit'), 'u-dist');
  await pickUnit('u-city');
  assert.deepStrictEqual(byId.cases.childNodes.map((c) => c.byClass('title')[0].textContent), ['超时案件 ' + evil, '将到期案件', '正常案件']);
  await pickUnit('u-street');
  assert.strictEqual(byId.cases.childNodes.length, 0);
  assert.strictEqual(byId.cases.dataset.empty, '本单位及下级暂无待办案件');
  assert.strictEqual(text('c-cases'), '4', 'the counter counts every open case');
  await pickUnit('');
  assert.strictEqual(byId.cases.childNodes.length, 4);
  assert.strictEqual(text('cases-note'), '');

  // sources: the counter counts the silent and broken ones
  assert.strictEqual(text('c-sources'), '2');
  assert.ok(!byId['c-sources'].classList.contains('zero'));
  assert.match(byId['sources-btn'].title, /沉默.*故障/);
  assert.match(byId['sources-btn'].title, /s-broken、s-silent/);
  assert.strictEqual(byId['sources-panel'].hidden, true);

  // stream
  assert.strictEqual(sockets.length, 1);
  assert.strictEqual(sockets[0].url, 'ws://127.0.0.1:8080/api/v1/stream');
  sockets[0].onopen();
  assert.strictEqual(byId.conn.dataset.state, 'open');
  send({ type: 'post', at: iso(0), data: { id: 'p1', source: 'weibo', text: 'x'.repeat(500) + evil, author: { name: '网友' + evil, verified: true }, published_at: iso(0), url: 'javascript:alert(1)', analysis: { sentiment: { label: 'negative', confidence: 0.9 }, places: ['广州市', '天河区'] } } });
  send({ type: 'post', at: iso(0), data: { id: 'p2', source: 'news', title: '标题', text: '正文', url: 'https://news.example/a', published_at: iso(0), region: '北京市', analysis: { sentiment: { label: 'positive' } } } });
  send({ type: 'event', at: iso(0), data: { id: 'e3', title: '小区停水', heat: 200, grade: 3, posts: 99, peak_hourly: 50, reasons: ['升级'] } });
  send({ type: 'case', at: iso(0), data: Object.assign({}, cases[3], { status: 'closed' }) });
  send({ type: 'stats', at: iso(0), data: { dropped: 7, posts: 123456, clients: 2 } });
  send({ type: 'nonsense' });
  sockets[0].onmessage({ data: 'not json' });
  await sleep(350);
  const feed = byId.feed.childNodes;
  assert.strictEqual(feed.length, 2);
  assert.strictEqual(feed[0].byClass('badge')[0].textContent, '正面');
  assert.strictEqual(feed[0].byTag('a')[0].href, 'https://news.example/a');
  assert.strictEqual(feed[0].byTag('a')[0].rel, 'noopener noreferrer');
  assert.strictEqual(feed[1].byClass('sent-negative')[0].textContent, '负面');
  assert.deepStrictEqual(feed[1].byClass('chip').map((c) => c.textContent), ['广州市', '天河区']);
  assert.strictEqual(feed[1].byTag('a').length, 0, 'javascript: url must not become a link');
  assert.ok(Array.from(feed[1].byClass('text')[0].textContent).length <= 161);
  assert.strictEqual(feed[1].byClass('src')[0].textContent, '微博');
  assert.strictEqual(byId.events.childNodes[0].byClass('title')[0].textContent, '小区停水');
  assert.strictEqual(byId.events.childNodes[0].byClass('grade')[0].textContent, 'III级 较大');
  assert.strictEqual(byId.cases.childNodes.length, 3, 'closed case removed');
  // a new case is announced (red for grade II), highlighted, and counted in the title while the tab is hidden
  document.hidden = true;
  send({ type: 'case', at: iso(0), data: { id: 'c-new', unit_id: 'u-water', title: '新案件 ' + evil, status: 'open', grade: 2, unit_name: '市水务局', clocks: [clock('发布权威信息', 5, 0)] } });
  await sleep(150);
  assert.strictEqual(text('toast'), '新立案：II级 新案件 ' + evil + '，责任单位：市水务局');
  assert.ok(byId.toast.className.includes('error'));
  assert.ok(byId.cases.childNodes.find((c) => c.dataset.id === 'c-new').classList.contains('fresh'));
  assert.strictEqual(document.title, '（1 件新案件）' + baseTitle);
  send({ type: 'case', at: iso(0), data: { id: 'c-new', unit_id: 'u-water', title: '新案件 ' + evil, status: 'signed', grade: 2, unit_name: '市水务局', clocks: [] } });
  send({ type: 'case', at: iso(0), data: { id: 'c-new2', unit_id: 'u-water', title: '一般案件', status: 'open', grade: 4, clocks: [] } });
  await sleep(150);
  assert.strictEqual(text('toast'), '新立案：IV级 一般案件', 'an update is not announced; grade IV is');
  assert.ok(!byId.toast.className.includes('error'));
  assert.strictEqual(document.title, '（2 件新案件）' + baseTitle);
  document.hidden = false;
  document.dispatch('visibilitychange');
  assert.strictEqual(document.title, baseTitle);
  // an old case coming back (reopened) says so
  send({ type: 'case', at: iso(0), data: { id: 'c-back', unit_id: 'u-water', title: '次生舆情', status: 'open', grade: 3, created_at: iso(-3 * D), clocks: [] } });
  await sleep(150);
  assert.strictEqual(text('toast'), '案件重新进入待办：III级 次生舆情');
  send({ type: 'case', at: iso(0), data: { id: 'c-back', status: 'closed' } });
  // a case outside the chosen unit's line is not announced
  byId['cases-unit'].value = 'u-dist';
  byId['cases-unit'].dispatch('change');
  send({ type: 'case', at: iso(0), data: { id: 'c-new3', unit_id: 'u-water', title: '别处的案件', status: 'open', grade: 1, clocks: [] } });
  await sleep(150);
  assert.strictEqual(text('toast'), '案件重新进入待办：III级 次生舆情');
  byId['cases-unit'].value = '';
  byId['cases-unit'].dispatch('change');
  for (const id of ['c-new', 'c-new2', 'c-new3']) send({ type: 'case', at: iso(0), data: { id, status: 'closed' } });
  await sleep(150);
  assert.strictEqual(text('c-dropped'), '7');
  assert.strictEqual(text('c-posts'), '12.3万');

  // sources panel: opened by the counter, silent and broken first, hostile reason kept as text
  byId['sources-btn'].dispatch('click');
  assert.strictEqual(byId['sources-panel'].hidden, false);
  assert.strictEqual(byId['sources-btn'].getAttribute('aria-expanded'), 'true');
  assert.strictEqual(document.activeElement, byId['sources-close']);
  let rows = byId['sources-list'].childNodes;
  assert.deepStrictEqual(rows.map((r) => r.byClass('name')[0].textContent), ['s-broken', 's-silent', 's-new', 's-ok']);
  assert.deepStrictEqual(rows.map((r) => r.byClass('hstat')[0].textContent), ['故障', '沉默', '未运行', '正常']);
  assert.match(text('sources-summary'), /共 4 个，沉默 1 个，故障 1 个/);
  const okRow = rows[3];
  assert.strictEqual(okRow.byClass('last')[0].textContent, '最新内容 5 分钟前');
  assert.match(okRow.byClass('last')[0].title, /^最新内容 \d{4}/);
  assert.match(okRow.textContent, /日均 14 条/);
  assert.match(okRow.textContent, /错误率 0%/);
  assert.match(okRow.textContent, /间隔 7\.5 分钟/);
  assert.strictEqual(okRow.byClass('reason').length, 0);
  assert.match(rows[1].textContent, /最新内容 1 小时前/);
  assert.match(rows[1].textContent, /错误率 25%/);
  assert.match(rows[1].textContent, /间隔 45 分钟/);
  assert.match(rows[1].textContent, /日均 —/);
  assert.strictEqual(rows[1].byClass('reason')[0].textContent, '已 1.5 小时 没有新内容 ' + evil);
  assert.match(rows[0].textContent, /间隔 240 分钟/);
  assert.match(rows[0].textContent, /连续失败 3 次/);
  assert.match(rows[2].textContent, /尚无新内容/);
  assert.match(rows[2].textContent, /错误率 —/);
  assert.strictEqual(byId['sources-list'].byTag('img').length, 0);

  // a source turning broken with a hostile reason: toast, counter, panel; all text
  const hostile = '<img src=x onerror=alert(1)>';
  send({ type: 'source', at: iso(0), data: Object.assign({}, sources[0], { status: 'broken', reason: hostile, last_run: iso(0), consecutive_errors: 3 }) });
  assert.strictEqual(text('toast'), '信息源「s-ok」故障：' + hostile);
  assert.ok(byId.toast.classList.contains('error'));
  assert.strictEqual(byId.toast.childNodes.length, 0, 'toast holds text only');
  await sleep(300);
  assert.strictEqual(text('c-sources'), '3');
  rows = byId['sources-list'].childNodes;
  const turned = rows.find((r) => r.byClass('name')[0].textContent === 's-ok');
  assert.strictEqual(turned.byClass('hstat')[0].textContent, '故障');
  assert.strictEqual(turned.byClass('reason')[0].textContent, hostile);
  assert.strictEqual(turned.byClass('reason')[0].childNodes.length, 0, 'reason holds text only');
  assert.strictEqual(byId['sources-list'].byTag('img').length, 0);
  assert.ok(rows.indexOf(turned) < 2, 'broken sources first');
  // an older run's message that crossed a newer one is ignored; an unchanged status makes no toast
  byId.toast.textContent = '';
  send({ type: 'source', at: iso(0), data: Object.assign({}, sources[0], { last_run: iso(-10 * M) }) });
  send({ type: 'source', at: iso(0), data: Object.assign({}, sources[3], { last_run: iso(0), consecutive_errors: 4 }) });
  send({ type: 'source', data: { status: 'broken' } });
  send({ type: 'source', data: null });
  await sleep(300);
  assert.strictEqual(text('c-sources'), '3');
  assert.strictEqual(text('toast'), '');
  // Esc closes the panel and gives the focus back to the counter
  document.dispatch('keydown', { key: 'Escape' });
  assert.strictEqual(byId['sources-panel'].hidden, true);
  assert.strictEqual(byId['sources-btn'].getAttribute('aria-expanded'), 'false');
  assert.strictEqual(document.activeElement, byId['sources-btn']);
  // recovery
  send({ type: 'source', at: iso(0), data: Object.assign({}, sources[0], { last_run: iso(1000) }) });
  await sleep(300);
  assert.strictEqual(text('c-sources'), '2');

  // sign: actor from the prompt, remembered
  promptAnswers = ['张三'];
  const okCase = byId.cases.childNodes.find((c) => c.byClass('title')[0].textContent === '正常案件');
  const signBtn = okCase.byTag('button').find((b) => b.textContent === '签收');
  calls.length = 0;
  signBtn.dispatch('click');
  await sleep(150);
  assert.strictEqual(calls.length, 1);
  assert.strictEqual(calls[0].url, '/api/v1/cases/c-ok/actions');
  assert.deepStrictEqual(JSON.parse(calls[0].opts.body), { action: 'sign', actor: '张三', note: '' });
  assert.strictEqual(store['yuqing.actor'], '张三');
  const signed = byId.cases.childNodes.find((c) => c.byClass('title')[0].textContent === '正常案件');
  assert.strictEqual(signed.byClass('status')[0].textContent, '已签收');
  assert.ok(!signed.byTag('button').some((b) => b.textContent === '签收'));

  // respond: a javascript: URL is refused before any request; an http(s) one is posted
  const respBtn = () => byId.cases.childNodes[0].byTag('button').find((b) => b.textContent === '回应');
  calls.length = 0;
  promptAnswers = ['javascript:alert(1)'];
  respBtn().dispatch('click');
  await sleep(50);
  assert.strictEqual(calls.length, 0);
  assert.match(text('toast'), /http/);
  promptAnswers = ['https://gov.example/reply'];
  respBtn().dispatch('click');
  await sleep(50);
  assert.deepStrictEqual(JSON.parse(calls[0].opts.body), { action: 'respond', actor: '张三', note: '', evidence_url: 'https://gov.example/reply' });
  assert.match(text('toast'), /操作失败：案件状态不允许此操作/);

  // search
  byId.q.value = '暴雨 & <b>';
  byId['search-form'].dispatch('submit');
  await sleep(50);
  assert.strictEqual(calls[calls.length - 1].url, '/api/v1/search?q=' + encodeURIComponent('暴雨 & <b>') + '&size=50');
  assert.strictEqual(byId['search-panel'].hidden, false);
  assert.match(text('search-summary'), /共 3 条/);
  assert.deepStrictEqual(byId['agg-sentiment'].childNodes.map((l) => l.byClass('term')[0].textContent), ['负面', '正面', '中性']);
  assert.strictEqual(byId['agg-region'].childNodes[0].textContent, '广州市3');
  assert.strictEqual(byId['search-hits'].childNodes.length, 1);
  assert.ok(calls.some((c) => c.url === '/api/v1/events?q=' + encodeURIComponent('暴雨 & <b>') + '&size=10'));
  assert.strictEqual(byId['search-events'].childNodes.length, 1);
  assert.match(text('search-events-summary'), /共 4 个，显示最热的 1 个/);
  assert.match(byId['search-events'].childNodes[0].textContent, /暴雨事件 <img/);
  // the distributions drill down: a click narrows posts and events, a chip shows the filter
  const terms = (id) => byId[id].childNodes.map((l) => l.byClass('term')[0].textContent);
  assert.deepStrictEqual(terms('agg-category'), ['突发事件与灾害', evil]);
  assert.deepStrictEqual(terms('agg-unit'), ['市水务局', 'u-gone']);
  const lastURL = (prefix) => calls.filter((c) => c.url.startsWith(prefix)).pop().url;
  const q0 = 'q=' + encodeURIComponent('暴雨 & <b>');
  byId['agg-region'].childNodes[0].dispatch('click');
  await sleep(50);
  assert.strictEqual(lastURL('/api/v1/search?'), '/api/v1/search?' + q0 + '&region=' + encodeURIComponent('广州市') + '&size=50');
  assert.strictEqual(lastURL('/api/v1/events?q='), '/api/v1/events?' + q0 + '&region=' + encodeURIComponent('广州市') + '&size=10');
  assert.strictEqual(text('search-filters'), '地区：广州市 ×');
  assert.match(text('search-summary'), /已按 1 个条件筛选/);
  byId['agg-keywords'].childNodes[0].dispatch('keydown', { key: 'Enter' });
  await sleep(50);
  assert.strictEqual(lastURL('/api/v1/search?'), '/api/v1/search?' + q0 + '&region=' + encodeURIComponent('广州市') + '&keyword=' + encodeURIComponent('暴雨') + '&size=50');
  assert.strictEqual(lastURL('/api/v1/events?q='), '/api/v1/events?' + q0 + '&region=' + encodeURIComponent('广州市') + '&size=10', 'events take no keyword filter');
  byId['agg-unit'].childNodes[0].dispatch('click');
  await sleep(50);
  assert.match(lastURL('/api/v1/events?q='), /&unit=u-water&size=10$/);
  assert.match(text('search-filters'), /责任单位：市水务局 ×/);
  // the export buttons follow the search
  assert.strictEqual(byId['search-export'].getAttribute('href'), '/api/v1/search?' + q0 + '&region=' + encodeURIComponent('广州市') +
    '&keyword=' + encodeURIComponent('暴雨') + '&unit=u-water&format=csv');
  assert.strictEqual(byId['search-events-export'].getAttribute('href'), '/api/v1/events?' + q0 + '&region=' + encodeURIComponent('广州市') + '&unit=u-water&format=csv');
  assert.strictEqual(byId['agg-risk'].childNodes[0].classList.contains('pick'), false, 'the low risk band is everything');
  byId['agg-risk'].childNodes[2].dispatch('click');
  await sleep(50);
  assert.match(lastURL('/api/v1/search?'), /&min_risk=0\.7&size=50$/);
  assert.match(text('search-filters'), /谣言风险：≥0\.7 ×/);
  byId['agg-category'].childNodes[1].dispatch('click'); // a hostile category stays text in the chip
  await sleep(50);
  assert.ok(byId['search-filters'].childNodes.every((c) => c.childNodes.length === 0));
  // a chip takes its filter away
  byId['search-filters'].childNodes.find((c) => c.textContent.startsWith('地区')).dispatch('click');
  await sleep(50);
  assert.doesNotMatch(lastURL('/api/v1/search?'), /region=/);
  assert.strictEqual(byId['search-filters'].childNodes.length, 4);
  // a new search starts without filters
  byId['search-form'].dispatch('submit');
  await sleep(50);
  assert.strictEqual(lastURL('/api/v1/search?'), '/api/v1/search?' + q0 + '&size=50');
  assert.strictEqual(byId['search-filters'].childNodes.length, 0);
  // an event's posts: 查看信息 on an event lists them, the event above, and drills down from there
  byId['search-close'].dispatch('click');
  const eventsCalls = calls.filter((c) => c.url.startsWith('/api/v1/events?q=')).length;
  const e1 = byId.events.childNodes.find((li) => li.byClass('title')[0].textContent.startsWith('某市暴雨内涝'));
  e1.byClass('see-posts')[0].dispatch('click');
  await sleep(50);
  assert.strictEqual(byId['search-panel'].hidden, false);
  assert.strictEqual(lastURL('/api/v1/search?'), '/api/v1/search?q=&event=e1&size=50');
  assert.strictEqual(calls.filter((c) => c.url.startsWith('/api/v1/events?q=')).length, eventsCalls, 'no event search for one event');
  assert.ok(text('search-filters').startsWith('事件：某市暴雨内涝'));
  assert.strictEqual(text('search-events-summary'), '本事件');
  assert.strictEqual(byId['search-events'].childNodes.length, 1);
  assert.strictEqual(byId['search-events'].childNodes[0].byClass('title')[0].textContent, '某市暴雨内涝 ' + evil);
  byId['agg-region'].childNodes[0].dispatch('click');
  await sleep(50);
  assert.strictEqual(lastURL('/api/v1/search?'), '/api/v1/search?q=&event=e1&region=' + encodeURIComponent('广州市') + '&size=50');
  assert.strictEqual(byId['search-events'].childNodes.length, 1);
  byId['search-close'].dispatch('click');
  assert.strictEqual(byId['search-panel'].hidden, true);


  // ---------- case detail panel ----------
  const listItem = (title) => byId.cases.childNodes.find((c) => c.byClass('title')[0].textContent === title);
  const panel = byId['case-panel'];
  const lateTitle = '超时案件 ' + evil;
  byId['sources-btn'].dispatch('click'); // another panel open: opening the case closes it
  calls.length = 0;
  // a click anywhere on the item (not on its buttons) opens the panel
  listItem(lateTitle).dispatch('click', { target: listItem(lateTitle).byClass('unit')[0] });
  assert.strictEqual(panel.hidden, false);
  assert.strictEqual(byId['sources-panel'].hidden, true);
  assert.strictEqual(byId['search-panel'].hidden, true);
  assert.strictEqual(document.activeElement, byId['case-close']);
  await sleep(200);
  assert.ok(calls.some((c) => c.url === '/api/v1/cases/c-late'), 'case detail fetched');
  assert.ok(everFetched.has('/api/v1/units'), 'units fetched (by the search, or for transfer)');
  assert.ok(listItem(lateTitle).classList.contains('selected'));
  assert.match(text('case-summary'), /编号 c-late/);
  // head: hostile title and route reason stay text
  const head = byId['case-head'];
  assert.strictEqual(head.byClass('case-title')[0].textContent, lateTitle);
  assert.strictEqual(head.byClass('case-title')[0].childNodes.length, 0);
  assert.strictEqual(head.byClass('grade')[0].textContent, 'I级 特别重大');
  assert.match(head.textContent, /已研判确认/);
  assert.match(head.textContent, /系统建议为 II级 重大/);
  assert.match(head.textContent, /责任单位：市政府（u-city）/);
  assert.strictEqual(head.byClass('route')[0].textContent, '分派依据：事发地“某市”属市政府管辖 ' + evil);
  assert.match(head.textContent, /回应方式：权威信息/);
  // clocks: deadline, countdown or stop time, badge, legal source, reminders
  const dclocks = byId['case-clocks'].childNodes;
  assert.strictEqual(dclocks.length, 2);
  assert.strictEqual(dclocks[0].className, 'dclock overdue');
  assert.match(dclocks[0].byClass('remain')[0].textContent, /^已超时 1小时0分/);
  assert.strictEqual(dclocks[0].byClass('cbadge')[0].textContent, '已超时');
  assert.match(dclocks[0].byClass('due')[0].textContent, /^截止 \d\d-\d\d \d\d:\d\d · 起算 /);
  assert.strictEqual(dclocks[0].byClass('legal')[0].textContent, '依据：' + legal);
  assert.strictEqual(dclocks[0].byClass('chip').length, 2);
  assert.ok(dclocks[0].byClass('chip').every((c) => c.classList.contains('past')));
  assert.ok(dclocks[1].classList.contains('stopped'));
  assert.strictEqual(dclocks[1].byClass('cbadge')[0].textContent, '按时');
  assert.match(dclocks[1].byClass('remain')[0].textContent, /^已完成 .*（用时 5小时0分）/);
  assert.strictEqual(dclocks[1].byClass('legal')[0].textContent, '依据：' + legal + evil);
  assert.strictEqual(dclocks[1].byTag('a').length, 0, 'javascript: clock evidence must not become a link');
  assert.match(dclocks[1].byClass('evidence')[0].textContent, /javascript:alert\(1\)/);
  // report: time to sign, effect of the response
  const rep = byId['case-report'];
  assert.match(rep.textContent, /签收用时 1小时0分/);
  assert.match(rep.textContent, /按时 1/);
  assert.match(rep.textContent, /超时 1/);
  assert.match(rep.textContent, /发布权威信息：已超时，尚未回应/);
  assert.strictEqual(rep.byClass('effect')[0].textContent, '回应后6小时声量 -72%');
  assert.match(rep.byClass('effect')[0].title, /回应前6小时 250 条，回应后 70 条/);
  // records: kind, title as a safe link, reasons, evidence button
  const recs = byId['case-records'].childNodes;
  assert.strictEqual(recs.length, 3);
  assert.strictEqual(recs[0].byClass('rkind')[0].textContent, '政务公开');
  const recLink = recs[0].byTag('a')[0];
  assert.strictEqual(recLink.textContent, '关于某市暴雨内涝情况的通报');
  assert.strictEqual(recLink.href, recURL);
  assert.strictEqual(recLink.rel, 'noopener noreferrer');
  assert.strictEqual(recLink.target, '_blank');
  assert.deepStrictEqual(recs[0].byClass('why')[0].childNodes.map((l) => l.textContent), ['共同关键词：暴雨、内涝', '立案后由本单位系统发布，可作为“发布权威信息”的证据']);
  assert.strictEqual(recs[1].byClass('rkind')[0].textContent, '政策解读');
  assert.strictEqual(recs[1].byTag('a').length, 0, 'javascript: record URL must not become a link');
  assert.strictEqual(recs[1].byClass('title')[0].textContent, '政策解读 ' + evil);
  assert.strictEqual(recs[1].byClass('why')[0].textContent, '标题相近 ' + evil);
  assert.strictEqual(recs[1].byTag('button').length, 0, 'no evidence proposed: no button');
  const evBtn = recs[0].byTag('button')[0];
  assert.strictEqual(evBtn.textContent, '作为“发布权威信息”的回应证据');
  assert.strictEqual(recs[2].byTag('button')[0].textContent, '作为“召开新闻发布会”的回应证据');
  // trail: oldest first, Chinese labels, hostile note and origin stay text, no javascript: link
  // deliveries: status, channel name (text), next attempt or end, last error
  const dlv = byId['case-deliveries'].childNodes;
  assert.strictEqual(dlv.length, 3);
  assert.deepStrictEqual(dlv.map((d) => d.byClass('badge')[0].textContent), ['已送达', '待发送', '发送失败']);
  assert.strictEqual(dlv[0].byClass('chan')[0].textContent, '市值班群 ' + evil + '（钉钉）');
  assert.strictEqual(dlv[0].byClass('chan')[0].childNodes.length, 0);
  assert.match(dlv[0].byClass('meta')[0].textContent, /尝试 1 次 · 送达于 /);
  assert.strictEqual(dlv[1].byClass('chan')[0].textContent, 'webhook:cd34（接口推送）');
  assert.match(dlv[1].byClass('meta')[0].textContent, /尝试 2 次 · 下次尝试 /);
  assert.strictEqual(dlv[1].byClass('err')[0].textContent, '最后错误：HTTP 503 ' + evil);
  assert.match(dlv[2].byClass('meta')[0].textContent, /尝试 8 次 · 结束于 /);
  assert.ok(dlv[2].classList.contains('dlv-failed'));
  const trail = byId['case-trail'].childNodes;
  assert.deepStrictEqual(trail.map((l) => l.byClass('akind')[0].textContent), ['立案', '签收', '时限提醒', '新闻发布会']);
  assert.deepStrictEqual(trail.map((l) => l.byClass('actor')[0].textContent), ['系统', '李四', '系统', '王五']);
  assert.match(trail[1].byClass('t')[0].textContent, /^\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.strictEqual(trail[1].byClass('note')[0].textContent, evil);
  assert.strictEqual(trail[1].byClass('note')[0].childNodes.length, 0, 'note holds text only');
  assert.strictEqual(trail[1].byClass('origin')[0].textContent, '来源：10.0.0.8 ' + evil);
  assert.strictEqual(trail[3].byTag('a').length, 0, 'javascript: evidence must not become a link');
  assert.match(trail[3].byClass('evidence')[0].textContent, /javascript:alert\(1\)/);
  // nothing in the panel was parsed as HTML, and every link is http(s)
  assert.strictEqual(panel.byTag('img').length, 0);
  for (const a of panel.byTag('a')) {
    assert.match(a.href, /^https?:\/\//);
    assert.strictEqual(a.rel, 'noopener noreferrer');
  }
  // countdowns keep running in the panel
  assert.strictEqual(dclocks[0].byClass('remain')[0].textContent.startsWith('已超时'), true);

  // the evidence button posts respond with the record's URL, then refreshes
  calls.length = 0;
  evBtn.dispatch('click');
  await sleep(100);
  const posted = calls.filter((c) => c.opts.method === 'POST');
  assert.strictEqual(posted.length, 1);
  assert.strictEqual(posted[0].url, '/api/v1/cases/c-late/actions');
  const eb = JSON.parse(posted[0].opts.body);
  assert.strictEqual(eb.action, 'respond');
  assert.strictEqual(eb.actor, '张三');
  assert.strictEqual(eb.evidence_url, recURL);
  assert.match(eb.note, /关于某市暴雨内涝情况的通报/);
  assert.ok(calls.some((c) => c.url === '/api/v1/cases/c-late' && !c.opts.method), 'panel refetched after the action');
  assert.strictEqual(text('toast'), '已记录“发布权威信息”的回应证据');
  // a press conference record posts press_conference
  calls.length = 0;
  byId['case-records'].childNodes[2].byTag('button')[0].dispatch('click');
  await sleep(100);
  const pc = JSON.parse(calls.find((c) => c.opts.method === 'POST').opts.body);
  assert.strictEqual(pc.action, 'press_conference');
  assert.strictEqual(pc.evidence_url, confURL);

  // a case message for the shown case refetches it; one for another case does not
  await sleep(250);
  calls.length = 0;
  send({ type: 'case', at: iso(0), data: Object.assign({}, cases[1]) });
  await sleep(300);
  assert.ok(!calls.some((c) => c.url === '/api/v1/cases/c-late'), 'another case: no refetch');
  detailActions.push({ id: 6, case_id: 'c-late', kind: 'overdue', actor: '系统', note: '“发布权威信息”已超时，已上报', at: iso(0), origin: 'alerting@node1' });
  send({ type: 'case', at: iso(0), data: Object.assign({}, cases[2], { actions: detailActions }) });
  await sleep(300);
  assert.strictEqual(calls.filter((c) => c.url === '/api/v1/cases/c-late').length, 1, 'shown case refetched once');
  assert.strictEqual(byId['case-trail'].lastChild.byClass('akind')[0].textContent, '超时');
  assert.strictEqual(byId['case-trail'].lastChild.byClass('note')[0].textContent, '“发布权威信息”已超时，已上报');

  // transfer: units offered as a tree, current unit disabled, reason required, API errors shown
  const opts = byId['case-transfer-unit'].childNodes;
  assert.deepStrictEqual(opts.map((o) => o.value), ['', 'u-city', 'u-water', 'u-dist', 'u-street']);
  assert.strictEqual(opts[1].disabled, true);
  assert.strictEqual(opts[1].textContent, '市政府（当前）');
  assert.strictEqual(opts[3].textContent, '　某区政府 ' + evil);
  assert.strictEqual(opts[4].textContent, '　　某街道');
  calls.length = 0;
  byId['case-transfer-form'].dispatch('submit');
  assert.strictEqual(text('case-op-error'), '请选择接收单位');
  assert.strictEqual(byId['case-op-error'].hidden, false);
  byId['case-transfer-unit'].value = 'u-dist';
  byId['case-transfer-form'].dispatch('submit');
  assert.strictEqual(text('case-op-error'), '请填写转办理由');
  assert.strictEqual(document.activeElement, byId['case-transfer-note']);
  assert.strictEqual(calls.length, 0);
  byId['case-transfer-note'].value = '属区级事权';
  byId['case-transfer-form'].dispatch('submit');
  await sleep(100);
  assert.deepStrictEqual(JSON.parse(calls[0].opts.body), { action: 'transfer', actor: '张三', note: '属区级事权', unit_id: 'u-dist' });
  assert.strictEqual(text('case-op-error'), '转办失败：接收单位“u-dist”不在组织树中');
  assert.strictEqual(text('toast'), '操作失败：接收单位“u-dist”不在组织树中');
  assert.strictEqual(byId['case-transfer-btn'].disabled, false);
  byId['case-transfer-unit'].value = 'u-water';
  calls.length = 0;
  byId['case-transfer-form'].dispatch('submit');
  await sleep(100);
  assert.deepStrictEqual(JSON.parse(calls[0].opts.body), { action: 'transfer', actor: '张三', note: '属区级事权', unit_id: 'u-water' });
  assert.strictEqual(byId['case-op-error'].hidden, true);
  assert.strictEqual(byId['case-transfer-note'].value, '');
  assert.match(text('toast'), /^已转办：/);

  // merge: the other case's id required, not itself; API errors shown
  calls.length = 0;
  byId['case-merge-form'].dispatch('submit');
  assert.strictEqual(text('case-op-error'), '请输入要并入的案件编号');
  byId['case-merge-into'].value = ' c-late ';
  byId['case-merge-form'].dispatch('submit');
  assert.strictEqual(text('case-op-error'), '案件不能并入自己');
  assert.strictEqual(calls.length, 0);
  byId['case-merge-into'].value = 'c-none';
  byId['case-merge-note'].value = '同一事件';
  byId['case-merge-form'].dispatch('submit');
  await sleep(100);
  assert.strictEqual(confirms.length, 1);
  assert.deepStrictEqual(JSON.parse(calls[0].opts.body), { action: 'merge', actor: '张三', note: '同一事件', into: 'c-none' });
  assert.strictEqual(text('case-op-error'), '合并失败：要并入的案件“c-none”不存在');

  // Esc closes the panel and gives the focus back to the case in the list
  await sleep(250);
  document.dispatch('keydown', { key: 'Escape' });
  assert.strictEqual(panel.hidden, true);
  assert.strictEqual(document.activeElement, listItem(lateTitle).byTag('button')[0]);
  assert.strictEqual(document.activeElement.textContent, lateTitle);
  await sleep(150);
  assert.ok(!listItem(lateTitle).classList.contains('selected'));
  // the title button opens it too; the close button closes it
  listItem(lateTitle).byTag('button')[0].dispatch('click');
  assert.strictEqual(panel.hidden, false);
  await sleep(100);
  byId['case-close'].dispatch('click');
  assert.strictEqual(panel.hidden, true);

  // ---------- units' timeliness ----------
  calls.length = 0;
  byId['units-btn'].dispatch('click');
  assert.strictEqual(byId['units-panel'].hidden, false);
  assert.strictEqual(byId['units-btn'].getAttribute('aria-expanded'), 'true');
  assert.strictEqual(document.activeElement, byId['units-close']);
  await sleep(50);
  assert.ok(calls.some((c) => c.url === '/api/v1/reports/units'));
  const urows = byId['units-rows'].childNodes;
  assert.deepStrictEqual(urows.map((r) => r.childNodes.map((td) => td.textContent)), [
    ['市政府 ' + evil, '3', '33%', '1小时35分', '4小时50分'],
    ['市水务局', '5', '80%', '13分钟', '3小时20分'],
    ['u-none', '2', '—', '—', '—'],
  ]);
  assert.ok(urows[0].childNodes[2].classList.contains('bad'));
  assert.strictEqual(byId['units-panel'].byTag('img').length, 0);
  assert.match(text('units-summary'), /共 3 个单位、10 件案件/);
  assert.strictEqual(byId['units-empty'].hidden, true);
  // opening a case closes it
  listItem(lateTitle).byTag('button')[0].dispatch('click');
  assert.strictEqual(byId['units-panel'].hidden, true);
  assert.strictEqual(byId['units-btn'].getAttribute('aria-expanded'), 'false');
  assert.strictEqual(panel.hidden, false);
  await sleep(100);
  document.dispatch('keydown', { key: 'Escape' });
  byId['units-btn'].dispatch('click');
  await sleep(50);
  document.dispatch('keydown', { key: 'Escape' });
  assert.strictEqual(byId['units-panel'].hidden, true);
  assert.strictEqual(document.activeElement, byId['units-btn']);

  // connection lost: reconnects with backoff
  sockets[0].onclose();
  assert.strictEqual(byId.conn.dataset.state, 'retry');
  assert.match(text('conn-text'), /秒后重连/);
  await sleep(1300);
  assert.strictEqual(sockets.length, 2);
  // after the reconnect the page catches up, sources included
  sources = sources.map((h) => h.source === 's-new' ? Object.assign({}, h, { status: 'silent', reason: '自首次运行以来没有任何新内容', last_run: iso(0), runs: 3 }) : h);
  calls.length = 0;
  sockets[1].onopen();
  await sleep(350);
  assert.ok(calls.some((c) => c.url === '/api/v1/sources'), 'sources refetched after a reconnect');
  assert.strictEqual(text('c-sources'), '3');
  assert.strictEqual(text('toast'), '信息源「s-new」沉默：自首次运行以来没有任何新内容');
  console.log('ok');
  process.exit(0);
})().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
