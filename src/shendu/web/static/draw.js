// 画数字: a pad to draw on; each change goes to /api/predict and the answer is drawn:
// the 28×28 the network sees, ten probabilities, every conv/pool layer's maps, first-layer kernels.
import { $, el, getJSON, bytesOf, paintSigned, paintImage, percent } from './util.js';
import { t } from './i18n.js';

const INK = 18;            // stroke width on the 280×280 pad: MNIST strokes are ~2 px of a 20 px digit
const pad = () => $('#pad');
const state = { run: null, strokes: [], current: null, busy: false, again: false, shown: null, uploaded: null };

export async function initDraw() {
  const canvas = pad();
  canvas.addEventListener('pointerdown', down);
  canvas.addEventListener('pointermove', move);
  canvas.addEventListener('pointerup', up);
  canvas.addEventListener('pointercancel', up);
  $('#undo').addEventListener('click', () => { state.strokes.pop(); state.uploaded = null; redraw(); changed(); });
  $('#clear').addEventListener('click', () => { state.strokes = []; state.uploaded = null; redraw(); changed(); });
  $('#upload').addEventListener('change', upload);
  $('#run-select').addEventListener('change', (e) => selectRun(e.target.value));
  document.addEventListener('pointerdown', (e) => { if (!e.target.closest('.grid')) hideLens(); });
  redraw();
  const [{ body: info }, { body: runs }] = await Promise.all([getJSON('/api/info'), getJSON('/api/runs')]);
  const trained = runs.filter((r) => r.trained);
  const select = $('#run-select');
  select.replaceChildren(...trained.map((r) => el('option', { value: r.name, text: `${r.name} (${r.model})` })));
  select.hidden = trained.length === 0;
  if (!info.run && trained.length === 0) {
    const box = $('#no-run');
    box.hidden = false;
    box.textContent = `${t('draw.norun')}\n${info.hint}`;
    return;
  }
  await selectRun(info.run || trained[0].name);
}

// the run to draw with: from the runs page's link (#draw/NAME) or the select box
export async function selectRun(name) {
  if (!name || name === state.run) return;
  state.run = name;
  $('#run-select').value = name;
  try {
    const { body } = await getJSON(`/api/runs/${encodeURIComponent(name)}/model`);
    showKernels(body.kernels);
    $('#no-run').hidden = true;
  } catch (err) {
    setStatus(err.message, true);
    return;
  }
  $('#maps').replaceChildren();
  changed();
}

// ---- drawing --------------------------------------------------------------------------------
function point(e) {
  const r = pad().getBoundingClientRect();
  return [((e.clientX - r.left) / r.width) * 280, ((e.clientY - r.top) / r.height) * 280];
}
function down(e) {
  e.preventDefault();
  try { pad().setPointerCapture(e.pointerId); } catch { /* a synthetic pointer has nothing to capture */ }
  if (state.uploaded) { state.uploaded = null; state.strokes = []; }
  state.current = [point(e)];
  state.strokes.push(state.current);
  redraw();
  changed();
}
function move(e) {
  if (!state.current) return;
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const ev of (events.length ? events : [e])) state.current.push(point(ev));
  redraw();
  changed();
}
function up() { if (state.current) { state.current = null; changed(); } }

function redraw() {
  const ctx = pad().getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, 280, 280);
  if (state.uploaded) ctx.drawImage(state.uploaded, 0, 0, 280, 280);
  ctx.strokeStyle = '#000'; ctx.fillStyle = '#000';
  ctx.lineWidth = INK; ctx.lineCap = 'round'; ctx.lineJoin = 'round';
  for (const s of state.strokes) {
    ctx.beginPath();
    ctx.moveTo(s[0][0], s[0][1]);
    if (s.length === 1) ctx.lineTo(s[0][0] + 0.01, s[0][1]);  // a dot
    for (const [x, y] of s.slice(1)) ctx.lineTo(x, y);
    ctx.stroke();
  }
}

// ---- asking the server: at most one request in flight, the latest drawing always sent last --
function changed() {
  if (!state.strokes.length && !state.uploaded) { showEmpty(); return; }
  if (state.busy) { state.again = true; return; }
  send(JSON.stringify({ image: pad().toDataURL('image/png') }), { 'Content-Type': 'application/json' });
}

async function send(body, headers) {
  if (!state.run) return;
  state.busy = true;
  pad().dataset.busy = 'true';
  const started = performance.now();
  try {
    const { body: result } = await getJSON(`/api/predict?run=${encodeURIComponent(state.run)}`, { method: 'POST', body, headers });
    const ms = performance.now() - started;
    show(result, ms);
  } catch (err) {
    setStatus(err.message, true);
  } finally {
    state.busy = false;
    pad().dataset.busy = state.again ? 'true' : 'false';
    if (state.again) { state.again = false; changed(); }
  }
}

async function upload(e) {
  const file = e.target.files[0];
  e.target.value = '';
  if (!file) return;
  const form = new FormData();
  form.append('image', file);
  try { state.uploaded = await createImageBitmap(file); } catch { state.uploaded = null; }
  state.strokes = [];
  redraw();
  setStatus(`${t('draw.uploaded')}: ${file.name}`);
  await send(form, {});
}

function setStatus(text, error = false) {
  const s = $('#draw-status');
  s.textContent = text;
  s.classList.toggle('error', error);
}

// ---- showing the answer -----------------------------------------------------------------------
function showEmpty() {
  $('#seen').getContext('2d').clearRect(0, 0, 28, 28);
  $('#answer').textContent = '?';
  $('#probs').replaceChildren();
  setStatus(t('draw.hint'));
}

function show(r, ms) {
  state.shown = r;
  const [c, h, w] = r.input.shape;
  paintImage($('#seen'), bytesOf(r.input.data), c, h, w);
  $('#rtt').textContent = `${ms.toFixed(0)} ms (server ${r.server_ms.toFixed(0)} ms)`;
  $('#rtt').dataset.ms = ms.toFixed(1);
  $('#answer').textContent = r.label;
  const rows = r.classes.map((name, i) => {
    const bar = el('div', { class: 'bar' }, el('div'));
    bar.firstChild.style.width = `${(100 * r.probs[i]).toFixed(1)}%`;
    const row = [el('span', { text: name }), bar, el('span', { class: 'pct', text: percent(r.probs[i]) })];
    if (i === r.top) for (const cell of row) cell.classList.add('best');
    return row;
  });
  const probs = $('#probs');
  probs.replaceChildren(...rows.flat());
  probs.dataset.top = r.label;
  showMaps(r.layers);
  if (!state.uploaded) setStatus('');
}

function showMaps(layers) {
  const box = $('#maps');
  if (!layers.length) { box.replaceChildren(el('p', { class: 'small', text: t('draw.nomaps') })); return; }
  // reuse the canvases of the last answer: redrawing 140 small canvases is cheap, rebuilding the DOM is not
  for (const layer of layers) {
    const id = `layer-${layer.name.replace(/[^\w-]/g, '_')}`;
    let section = box.querySelector(`#${id}`);
    const [shown, h, w] = layer.shape;
    if (!section) {
      const head = el('h3', { text: `${layer.name} · ${layer.kind} · ${layer.channels}×${h}×${w}` });
      section = el('div', { class: 'layer', id }, head, el('div', { class: 'desc', text: layer.description }));
      if (shown < layer.channels) section.append(el('div', { class: 'small', text: t('draw.of', { shown, total: layer.channels }) }));
      const grid = el('div', { class: 'grid' });
      for (let i = 0; i < shown; i++) {
        const cv = el('canvas', { class: 'map', 'data-channel': String(i), title: `${t('draw.channel')} ${i}` });
        cv.addEventListener('pointerenter', () => showLens(layer.name, i));
        cv.addEventListener('pointerleave', (e) => { if (e.pointerType === 'mouse') hideLens(); });
        cv.addEventListener('click', () => showLens(layer.name, i));
        grid.append(cv);
      }
      section.append(grid);
      box.append(section);
    }
    const bytes = bytesOf(layer.data);
    section.querySelectorAll('canvas.map').forEach((cv, i) => paintSigned(cv, bytes, i, h, w));
    section.dataset.painted = String((Number(section.dataset.painted) || 0) + 1);
  }
}

function showLens(layerName, channel) {
  const layer = state.shown && state.shown.layers.find((l) => l.name === layerName);
  if (!layer) return;
  const [, h, w] = layer.shape;
  const lens = $('#lens');
  paintSigned(lens.querySelector('canvas'), bytesOf(layer.data), channel, h, w);
  lens.querySelector('.lens-label').textContent = `${layerName} · ${t('draw.channel')} ${channel} (${h}×${w})`;
  lens.hidden = false;
}
function hideLens() { $('#lens').hidden = true; }

function showKernels(kernels) {
  const box = $('#kernels');
  if (!kernels) { box.replaceChildren(el('p', { class: 'small', text: t('draw.nomaps') })); return; }
  const [n, cin, kh, kw] = kernels.shape;
  const bytes = bytesOf(kernels.data);
  const tiles = [];
  for (let i = 0; i < n; i++) {
    const cv = el('canvas', { title: `kernel ${i}` });
    // several input channels: show the first one's weights (for RGB models, the red channel's)
    paintSigned(cv, bytes, i * cin, kh, kw);
    tiles.push(cv);
  }
  box.replaceChildren(...tiles);
}
