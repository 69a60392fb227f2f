// The page's router: #draw, #draw/RUN, #lessons, #lessons/NAME, #runs, #runs/NAME.
import { $ } from './util.js';
import { applyWords, getLang, onLang, setLang } from './i18n.js';
import { initDraw, selectRun } from './draw.js';
import { initLessons, listLessons, openLesson, lessonShown } from './lessons.js';
import { initRuns, openRun, stopRuns } from './runs.js';

const started = { draw: null, lessons: null, runs: null };
const init = { draw: initDraw, lessons: initLessons, runs: initRuns };

async function route() {
  const [page, arg] = (location.hash.slice(1) || 'draw').split('/').map(decodeURIComponent);
  const name = page in init ? page : 'draw';
  for (const p of Object.keys(init)) $(`#page-${p}`).hidden = p !== name;
  for (const a of document.querySelectorAll('.top nav a')) a.classList.toggle('active', a.dataset.page === name);
  if (name !== 'runs') stopRuns();
  const first = !started[name];
  if (first) started[name] = init[name]();
  try { await started[name]; } catch (err) { console.error(err); started[name] = null; return; }
  if (name === 'draw' && arg) await selectRun(arg);
  if (name === 'lessons' && arg) await openLesson(arg);
  if (name === 'runs') { if (arg) await openRun(arg); else if (!first) initRuns(); }  // a fresh list
}

$('#lang').addEventListener('click', () => setLang(getLang() === 'zh' ? 'en' : 'zh'));
onLang(() => {
  if (started.lessons) listLessons();
  const shown = lessonShown();
  if (shown && !$('#page-lessons').hidden) openLesson(shown);
  if (started.runs) initRuns();
});
window.addEventListener('hashchange', route);
applyWords();
route();
