// Small helpers shared by the pages: JSON requests with readable errors, and drawing arrays.

export const $ = (sel, root = document) => root.querySelector(sel);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

// fetch JSON; a non-2xx answer throws an Error with the server's message
export async function getJSON(url, options = {}) {
  const res = await fetch(url, options);
  let body = null;
  try { body = await res.json(); } catch { body = null; }
  if (!res.ok) throw new Error((body && body.error) || `${res.status} ${res.statusText}`);
  return { status: res.status, body };
}

export function bytesOf(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// int8 value -> colour: blue (−127) – white (0) – red (127)
const NEG = [28, 111, 209], POS = [207, 74, 12];
function diverging(v) {
  const s = Math.min(1, Math.abs(v) / 127), c = v < 0 ? NEG : POS;
  return [255 + (c[0] - 255) * s, 255 + (c[1] - 255) * s, 255 + (c[2] - 255) * s];
}

// paint channel `index` of a (C, H, W) int8 array (as bytes) into `canvas`
export function paintSigned(canvas, bytes, index, h, w) {
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(w, h);
  const signed = new Int8Array(bytes.buffer, bytes.byteOffset + index * h * w, h * w);
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = diverging(signed[i]);
    img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// paint a (C, H, W) uint8 image, C = 1 (grey) or 3 (RGB)
export function paintImage(canvas, bytes, c, h, w) {
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(w, h);
  const n = h * w;
  for (let i = 0; i < n; i++) {
    const r = bytes[i], g = c === 3 ? bytes[n + i] : r, b = c === 3 ? bytes[2 * n + i] : r;
    img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

export function percent(x, digits = 1) { return x == null ? '–' : `${(100 * x).toFixed(digits)}%`; }

// a list that scrolls sideways (the lessons and runs on a phone): bring its active item into view
export function scrollToActive(list) {
  const a = list.querySelector('a.active');
  if (!a || list.scrollWidth <= list.clientWidth) return;
  list.scrollLeft = a.offsetLeft - list.offsetLeft - (list.clientWidth - a.offsetWidth) / 2;
}
