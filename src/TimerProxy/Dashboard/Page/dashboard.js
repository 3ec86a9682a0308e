// The dashboard: reads the proxy's JSON (/api/...) and shows it. Everything from Redis is set as text, never as HTML.
'use strict';

const $ = id => document.getElementById(id);

async function getJson(url) {
  const response = await fetch(url, { cache: 'no-store' });
  let body = null;
  try { body = await response.json(); } catch { /* not JSON: said below */ }
  if (!response.ok) throw new Error(body && body.error ? body.error : `${response.status} ${response.statusText}`);
  if (body === null) throw new Error('the proxy answered something else than JSON');
  return body;
}

// 850 ms, 12.3 s, 4 min 3 s, 2 h 5 min, 3 d 4 h
function duration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.floor(s)} s`;
  const parts = [[86400, 'd'], [3600, 'h'], [60, 'min'], [1, 's']];
  let left = Math.floor(s);
  const out = [];
  for (const [size, unit] of parts) {
    if (left >= size || out.length > 0) {
      out.push(`${Math.floor(left / size)} ${unit}`);
      left %= size;
    }
    if (out.length === 2) break;
  }
  return out.filter((part, i) => i === 0 || !part.startsWith('0 ')).join(' ');
}

const dueIn = ms => ms <= 0 ? 'now' : duration(ms);
const number = n => n.toLocaleString('en-US');
const clock = ms => new Date(ms).toLocaleTimeString('en-GB', { hour12: false });
const when = ms => `${clock(ms)} (${duration(Math.max(0, Date.now() - ms))} ago)`;

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function banner(text) {
  $('banner').hidden = !text;
  $('banner').textContent = text || '';
}

// Totals and state, every 2 s.
async function refreshSummary() {
  try {
    const s = await getJson('/api/summary');
    for (const [name, value] of Object.entries(s.stats)) {
      const dd = $(`stat-${name}`);
      if (dd) dd.textContent = number(value);
    }
    const up = s.stats.upstream_up === 1;
    $('upstream-state').textContent = up ? 'Redis up' : 'Redis down';
    $('upstream-state').className = `badge ${up ? 'up' : 'down'}`;
    const leader = s.stats.scheduler_leader === 1;
    $('leader-state').textContent = leader ? 'firing (leader)' : 'standing by';
    $('leader-state').className = `badge ${leader ? 'leader' : ''}`;
    $('upstream').textContent = s.upstream;
    $('version').textContent = s.version.replace(/\+([0-9a-f]{7})[0-9a-f]+$/, '+$1');
    $('uptime').textContent = duration(s.now - s.started);
    $('refreshed').textContent = `updated ${clock(Date.now())}`;
    banner(up ? '' : `The proxy cannot reach Redis at ${s.upstream}.`);
  } catch (e) {
    banner(`The proxy does not answer: ${e.message}`);
  }
}

// A line chart of series over the rows' times, on a canvas sized to its box. With log set, the y axis is logarithmic
// from that floor up: lateness spans a millisecond on time to many seconds after a restart, and both must show.
function chart(canvas, rows, series, log) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const left = 52, right = 8, top = 8, bottom = 20;
  const style = getComputedStyle(document.documentElement);
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = style.getPropertyValue('--muted');
  g.strokeStyle = style.getPropertyValue('--line');
  if (rows.length < 2) {
    g.fillText('collecting: a point a second', left, height / 2);
    return;
  }
  const t0 = rows[0].at, t1 = rows[rows.length - 1].at;
  let max = 0;
  for (const s of series) for (const r of rows) { const v = s.value(r); if (v !== null && v > max) max = v; }
  let ticks, y;
  const plot = height - top - bottom;
  if (log) {
    const low = Math.log10(log), high = Math.max(low + 1, Math.ceil(Math.log10(Math.max(max, log))));
    y = v => top + (1 - (Math.log10(Math.max(v, log)) - low) / (high - low)) * plot;
    ticks = [];
    const step = Math.ceil((high - low) / 4);
    for (let e = low; e <= high; e += step) ticks.push(Math.pow(10, e));
  } else {
    max = max > 0 ? niceCeiling(max) : 1;
    y = v => top + (1 - v / max) * plot;
    ticks = [0, max / 2, max];
  }
  const x = t => left + (t - t0) / Math.max(1, t1 - t0) * (width - left - right);
  g.lineWidth = 1;
  g.textAlign = 'right';
  for (const v of ticks) {
    g.beginPath(); g.moveTo(left, y(v)); g.lineTo(width - right, y(v)); g.stroke();
    g.fillText(v >= 100 ? number(Math.round(v)) : String(+v.toFixed(2)), left - 4, y(v) + 4);
  }
  g.textAlign = 'left';
  g.fillText(clock(t0), left, height - 4);
  g.textAlign = 'right';
  g.fillText(clock(t1), width - right, height - 4);
  for (const s of series) {
    g.strokeStyle = style.getPropertyValue(s.color);
    g.lineWidth = 1.5;
    g.beginPath();
    let open = false;
    for (const r of rows) {
      const v = s.value(r);
      if (v === null) { open = false; continue; }
      if (open) g.lineTo(x(r.at), y(v)); else g.moveTo(x(r.at), y(v));
      open = true;
    }
    g.stroke();
  }
}

function niceCeiling(v) {
  const step = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= v) return m * step;
  return 10 * step;
}

const perSecond = (count, r) => count * 1000 / r.span;

async function refreshActivity() {
  let rows;
  try {
    rows = (await getJson('/api/activity')).rows;
  } catch {
    return; // the summary's banner says so
  }
  const minutes = rows.length < 2 ? 0 : (rows[rows.length - 1].at - rows[0].at) / 60000;
  $('activity-window').textContent = minutes >= 1 ? `${Math.round(minutes)} min` : 'minute';
  chart($('rate-chart'), rows, [
    { color: '--ok', value: r => perSecond(r.fired, r) },
    { color: '--bad', value: r => perSecond(r.errors, r) },
  ]);
  chart($('lateness-chart'), rows, [
    { color: '--max', value: r => r.lateness_max },
    { color: '--mean', value: r => r.lateness_mean },
  ], 0.1);
  const last = rows.slice(-60);
  const span = last.reduce((a, r) => a + r.span, 0);
  const fired = last.reduce((a, r) => a + r.fired, 0);
  const failed = last.reduce((a, r) => a + r.errors, 0);
  const lates = last.filter(r => r.lateness_max !== null);
  $('rate-summary').textContent = span === 0 ? '' :
    `last minute: ${number(fired)} fired, ${number(failed)} failed, ${(fired * 1000 / span).toFixed(1)}/s`;
  $('lateness-summary').textContent = lates.length === 0 ? 'last minute: no fires' :
    `last minute: max ${Math.max(...lates.map(r => r.lateness_max)).toFixed(1)} ms`;
}

// Timers: a TIMER.LIST page at a time, on request.
const list = { db: 0, match: '', count: 50, cursor: '0', next: null, page: 0, fetchedAt: 0 };

async function loadTimers(cursor) {
  const params = new URLSearchParams({ db: list.db, count: list.count, cursor });
  if (list.match) params.set('match', list.match);
  $('timers-status').textContent = 'loading…';
  let page;
  try {
    page = await getJson(`/api/timers?${params}`);
  } catch (e) {
    $('timers-status').textContent = `error: ${e.message}`;
    $('timers-status').classList.add('failed');
    return;
  }
  $('timers-status').classList.remove('failed');
  list.page = cursor === '0' ? 1 : list.page + 1;
  list.cursor = cursor;
  list.next = page.cursor === '0' ? null : page.cursor;
  list.fetchedAt = Date.now();
  const body = $('timers').tBodies[0];
  body.replaceChildren();
  for (const t of page.timers) {
    const row = body.insertRow();
    row.dataset.id = t.id;
    cell(row, t.id, 'id');
    cell(row, t.function, 'fn');
    cell(row, dueIn(t.remaining), 'due').dataset.remaining = t.remaining;
    cell(row, duration(t.interval), 'span');
    cell(row, t.loop ? 'yes' : 'no');
    cell(row, number(t.runs_ok));
    cell(row, number(t.runs_failed), t.runs_failed > 0 ? 'failed' : '');
    cell(row, t.last_run === null ? '–' : when(t.last_run));
    if (t.last_error !== null) cell(row, t.last_error, 'error');
    else cell(row, t.last_run === null ? '–' : t.last_lateness ? `ok, ${duration(t.last_lateness)} late` : 'ok, on time');
  }
  if (page.timers.length === 0) {
    const td = cell(body.insertRow(), list.next ? 'none on this page: try the next one' : 'no timers', 'empty');
    td.colSpan = 9;
  }
  $('next-page').disabled = list.next === null;
  $('first-page').disabled = list.page <= 1 && list.next === null;
  $('timers-status').textContent =
    `page ${list.page}: ${page.timers.length} timer${page.timers.length === 1 ? '' : 's'}${list.next === null ? ', the last page' : ''}`;
}

// The due-in column counts down between loads.
function tick() {
  const elapsed = Date.now() - list.fetchedAt;
  for (const td of document.querySelectorAll('#timers td.due')) {
    td.textContent = dueIn(Number(td.dataset.remaining) - elapsed);
  }
}

async function refreshFailures() {
  const status = $('failures-status');
  let failures;
  try {
    failures = (await getJson(`/api/failures?db=${list.db}`)).failures;
  } catch (e) {
    status.textContent = `error: ${e.message}`;
    return;
  }
  $('failures-db').textContent = list.db;
  const body = $('failures').tBodies[0];
  body.replaceChildren();
  for (const f of failures) {
    const row = body.insertRow();
    cell(row, typeof f.at === 'number' ? when(f.at) : '–');
    cell(row, String(f.id ?? ''), 'id');
    cell(row, String(f.function ?? ''), 'fn');
    cell(row, typeof f.lateness === 'number' ? duration(f.lateness) : '–');
    cell(row, String(f.error ?? ''), 'error');
  }
  status.textContent = failures.length === 0 ? 'no failed fire kept in this db' : `${failures.length} kept`;
}

function search(event) {
  event?.preventDefault();
  const db = Number($('db').value);
  if (!Number.isInteger(db) || db < 0 || db > 65535) {
    $('timers-status').textContent = 'error: db must be a database number';
    return;
  }
  list.db = db;
  list.match = $('match').value.trim();
  list.count = Number($('count').value);
  // The search is kept in the address: a reload or a shared link shows the same list.
  const state = new URLSearchParams({ db, count: list.count });
  if (list.match) state.set('match', list.match);
  history.replaceState(null, '', `#${state}`);
  loadTimers('0');
  refreshFailures();
}

function restoreSearch() {
  const state = new URLSearchParams(location.hash.slice(1));
  if (state.has('db')) $('db').value = state.get('db');
  if (state.has('match')) $('match').value = state.get('match');
  if ([...$('count').options].some(o => o.value === state.get('count'))) $('count').value = state.get('count');
}

document.addEventListener('DOMContentLoaded', () => {
  restoreSearch();
  $('timer-search').addEventListener('submit', search);
  $('next-page').addEventListener('click', () => { if (list.next) loadTimers(list.next); });
  $('first-page').addEventListener('click', () => loadTimers('0'));
  window.addEventListener('resize', refreshActivity);
  refreshSummary();
  refreshActivity();
  search();
  setInterval(refreshSummary, 2000);
  setInterval(refreshActivity, 2000);
  setInterval(refreshFailures, 5000);
  setInterval(tick, 1000);
});
