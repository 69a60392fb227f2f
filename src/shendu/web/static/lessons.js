// 课程: the lessons in course order; one opened is fetched in the page's language, rendered by the
// server on first use (202 while it runs: ask again each second) and cached there.
import { $, el, getJSON, scrollToActive } from './util.js';
import { t, getLang } from './i18n.js';

let current = null;  // name of the lesson shown
let ticket = 0;      // a newer request makes an older one's answer stale
let catalogue = [];  // [{name, title: {zh, en}, summary: {zh, en}}], in course order

export async function initLessons() {
  catalogue = (await getJSON('/api/lessons')).body;
  listLessons();
}

// the list in the page's language (called again when the language changes)
export function listLessons() {
  const lang = getLang();
  $('#lesson-list').replaceChildren(...catalogue.map((l) => el('li', {},
    el('a', { href: `#lessons/${l.name}`, 'data-lesson': l.name },
      el('span', { class: 'name', text: l.title[lang] === l.name ? l.name : `${l.title[lang]} · ${l.name}` }),
      el('span', { class: 'sub', text: l.summary[lang] })))));
  markActive();
}

function markActive() {
  for (const a of document.querySelectorAll('#lesson-list a')) a.classList.toggle('active', a.dataset.lesson === current);
  scrollToActive($('#lesson-list'));
}

export async function openLesson(name) {
  current = name;
  markActive();
  const mine = ++ticket;
  const box = $('#lesson');
  const lang = getLang();
  box.replaceChildren(el('h2', { text: titleOf(name) }), el('p', { class: 'status', text: t('lessons.rendering', { s: 0 }) }));
  for (;;) {
    let res;
    try {
      res = await getJSON(`/api/lessons/${encodeURIComponent(name)}?lang=${lang}`);
    } catch (err) {
      if (mine === ticket) box.replaceChildren(el('h2', { text: titleOf(name) }), el('p', { class: 'error', text: err.message }));
      return;
    }
    if (mine !== ticket) return;
    if (res.status === 200) { show(res.body); return; }
    box.querySelector('.status').textContent = t('lessons.rendering', { s: Math.round(res.body.elapsed) });
    await new Promise((ok) => setTimeout(ok, 1000));
    if (mine !== ticket) return;
  }
}

function show(lesson) {
  const q = `?lang=${lesson.lang}`;
  const figures = lesson.figures.map((f) => el('figure', {},
    el('img', { src: `/api/lessons/${encodeURIComponent(lesson.name)}/files/${encodeURIComponent(f)}${q}`, alt: f, loading: 'lazy' }),
    el('figcaption', { class: 'small', text: f })));
  $('#lesson').replaceChildren(
    el('h2', { text: titleOf(lesson.name) }),
    el('p', { class: 'small', text: t('lessons.took', { s: lesson.seconds }) }),
    el('pre', { class: 'lesson-text', text: lesson.text }),
    el('h3', { text: `${t('lessons.figures')} (${lesson.figures.length})` }),
    el('div', { class: 'figures' }, ...figures));
}

function titleOf(name) {
  const l = catalogue.find((item) => item.name === name);
  const title = l ? l.title[getLang()] : name;
  return title === name ? name : `${title} · ${name}`;
}

export function lessonShown() { return current; }
