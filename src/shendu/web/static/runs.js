// 训练: the runs under runs/; one opened shows its config, curves (drawn here as SVG so they can grow
// live), epoch table and evaluation results. A run still training streams its history (SSE).
import { $, el, getJSON, scrollToActive, percent } from './util.js';
import { t } from './i18n.js';

let current = null;
let source = null;  // the EventSource of the run shown, if it is training

export async function initRuns() {
  const { body } = await getJSON('/api/runs');
  const list = $('#run-list');
  if (!body.length) { list.replaceChildren(el('li', { class: 'small', text: t('runs.none') })); return; }
  list.replaceChildren(...body.map((r) => el('li', {},
    el('a', { href: `#runs/${r.name}`, 'data-run': r.name },
      el('span', { class: 'name', text: r.name }), badge(r.status),
      el('span', { class: 'sub', text: `${r.model} · ${r.data} · ${r.epochs}/${r.planned ?? '?'} ${t('runs.epochs')} · ${percent(r.best_val_acc)}` })))));
  markActive();
}

function badge(status) { return el('span', { class: `badge ${status}`, text: t(`runs.${status}`) }); }
function markActive() {
  for (const a of document.querySelectorAll('#run-list a')) a.classList.toggle('active', a.dataset.run === current);
  scrollToActive($('#run-list'));
}

export async function openRun(name) {
  current = name;
  markActive();
  if (source) { source.close(); source = null; }
  const box = $('#run');
  try {
    const { body } = await getJSON(`/api/runs/${encodeURIComponent(name)}`);
    if (current !== name) return;
    show(body);
    if (body.status === 'training') listen(name);
  } catch (err) {
    box.replaceChildren(el('h2', { text: name }), el('p', { class: 'error', text: err.message }));
  }
}

function listen(name) {
  source = new EventSource(`/api/runs/${encodeURIComponent(name)}/events`);
  source.addEventListener('history', (e) => {
    if (current !== name) return;
    const update = JSON.parse(e.data);
    drawProgress(update);
  });
  source.addEventListener('done', () => { source.close(); source = null; openRun(name); initRuns(); });
}

function show(run) {
  const box = $('#run');
  const head = el('h2', { text: run.name }, badge(run.status));
  const parts = [head, el('p', { class: 'small', text: `${run.model} · ${run.data} · ${run.epochs}/${run.planned ?? '?'} ${t('runs.epochs')} · ${t('runs.best')} ${percent(run.best_val_acc, 2)}` })];
  if (run.trained) parts.push(el('p', {}, el('a', { href: `#draw/${run.name}`, text: t('runs.draw') })));
  if (run.status === 'training') parts.push(el('p', { class: 'small live', text: t('runs.live') }));
  parts.push(el('h3', { text: t('runs.curves') }), el('div', { class: 'charts', id: 'charts' }));
  parts.push(el('h3', { text: t('runs.history') }), el('div', { class: 'table-wrap', id: 'epochs' }));
  parts.push(el('h3', { text: t('runs.evals') }), evaluations(run));
  parts.push(el('h3', { text: t('runs.config') }), el('div', { class: 'table-wrap' }, configTable(run.config)));
  box.replaceChildren(...parts);
  drawProgress(run);
}

function drawProgress(run) {
  const rows = run.history || [];
  $('#charts').replaceChildren(
    chart(rows, 'loss', t('runs.loss'), 1),
    chart(rows, 'acc', t('runs.acc'), 100));
  $('#epochs').replaceChildren(rows.length ? epochTable(rows) : el('p', { class: 'small', text: t('runs.noepoch') }));
  $('#epochs').dataset.epochs = String(rows.length);
}

// a line chart of train_KEY and val_KEY per epoch, as SVG (no library)
function chart(rows, key, title, scale) {
  const W = 420, H = 240, L = 48, R = 12, T = 22, B = 32;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text != null) n.textContent = text;
    svg.append(n);
    return n;
  };
  const series = ['train', 'val'].map((s) => rows.map((r) => [r.epoch, r[`${s}_${key}`] == null ? null : r[`${s}_${key}`] * scale]));
  const values = series.flat().map((p) => p[1]).filter((v) => v != null && Number.isFinite(v));
  add('text', { x: L, y: 14 }, title);
  if (values.length) {
    let lo = Math.min(...values), hi = Math.max(...values);
    if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
    const first = Math.min(...rows.map((r) => r.epoch)), maxEpoch = Math.max(...rows.map((r) => r.epoch));
    // one epoch: its point in the middle; more: first epoch at the left axis, last at the right edge
    const x = (e) => (maxEpoch === first ? (L + W - R) / 2 : L + ((e - first) / (maxEpoch - first)) * (W - L - R));
    const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
    add('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' });
    add('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis' });
    for (const v of [lo, (lo + hi) / 2, hi]) add('text', { x: 4, y: y(v) + 4 }, v.toFixed(scale === 100 ? 1 : 3));
    add('text', { x: L, y: H - 8 }, `${t('runs.epoch')} ${first}`);
    if (maxEpoch > first) add('text', { x: W - R - 50, y: H - 8 }, `${t('runs.epoch')} ${maxEpoch}`);
    series.forEach((pts, i) => {
      const ok = pts.filter((p) => p[1] != null && Number.isFinite(p[1]));
      if (!ok.length) return;
      add('polyline', { points: ok.map(([e, v]) => `${x(e).toFixed(1)},${y(v).toFixed(1)}`).join(' '), class: i ? 'val' : 'train' });
      for (const [e, v] of ok) add('circle', { cx: x(e), cy: y(v), r: 2.5, fill: i ? '#cf4a0c' : '#1c6fd1' });
    });
  }
  const legend = el('div', { class: 'legend' }, el('span', { class: 't', text: `━ ${t('runs.train')}` }), '  ', el('span', { class: 'v', text: `╍ ${t('runs.val')}` }));
  return el('div', { class: 'chart' }, svg, legend);
}

function epochTable(rows) {
  const cols = [['epoch', (v) => v], ['train_loss', (v) => v?.toFixed(4)], ['train_acc', (v) => percent(v, 2)],
    ['val_loss', (v) => v?.toFixed(4)], ['val_acc', (v) => percent(v, 2)], ['lr', (v) => v?.toPrecision(3)], ['seconds', (v) => v?.toFixed(1)]];
  // headers in words that may wrap (a phone's width holds the seven columns), history.json's key as the tooltip
  const head = el('tr', {}, ...cols.map(([c]) => el('th', { class: 'num', text: t(`runs.col.${c}`), title: c })));
  const body = rows.map((r) => el('tr', {}, ...cols.map(([c, f]) => el('td', { class: 'num', text: String(f(r[c]) ?? '–') }))));
  return el('table', {}, el('thead', {}, head), el('tbody', {}, ...body));
}

function evaluations(run) {
  const box = el('div', { class: 'run-images' });
  for (const e of run.evaluations) {
    if (e.image) box.append(el('figure', {}, el('img', { src: `/api/runs/${encodeURIComponent(run.name)}/files/${encodeURIComponent(e.image)}`, alt: e.file }), el('figcaption', { class: 'small', text: e.file })));
    else {
      const r = e.result, f1 = r.macro_f1 == null ? '' : ` · macro F1 ${r.macro_f1.toFixed(4)}`;
      box.append(el('p', { class: 'eval' }, el('b', { text: e.file }),
        ` ${r.data ?? ''} ${r.split ?? ''} · n ${r.n ?? '?'} · ${t('runs.accuracy')} ${percent(r.accuracy, 2)}${f1}`));
    }
  }
  if (!run.evaluations.length) {
    const data = run.data === 'mnist-5k' ? 'mnist' : run.data;
    // --json > the run folder: the page shows the numbers too, not only the confusion matrix
    const command = `shendu eval ${run.path} --data ${data} --split test --json > ${run.path}/eval-${data}-test.json`;
    box.append(el('p', { class: 'small', text: t('runs.noeval') }), el('pre', { text: command }));
  }
  return box;
}

function configTable(config) {
  const rows = Object.entries(config || {}).map(([k, v]) =>
    el('tr', {}, el('th', { text: k }), el('td', { text: typeof v === 'object' ? JSON.stringify(v) : String(v) })));
  return el('table', { class: 'config' }, el('tbody', {}, ...rows));
}

export function stopRuns() { if (source) { source.close(); source = null; } }
