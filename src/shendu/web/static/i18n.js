// The page's words in Chinese (first) and English. Elements with data-i18n="key" are filled from here.
const WORDS = {
  zh: {
    'nav.draw': '画数字', 'nav.lessons': '课程', 'nav.runs': '训练', 'lang.switch': 'English',
    'draw.title': '画一个数字', 'draw.undo': '撤销', 'draw.clear': '清除', 'draw.upload': '上传图片',
    'draw.hint': '用鼠标、手写笔或手指在上面写一个数字。',
    'draw.sees': '网络看到的图像',
    'draw.sees.note': '与 shendu predict 相同的预处理：反色、裁剪、缩放到 20 像素、按重心居中。',
    'draw.time': '往返时间', 'draw.probs': '各类别的概率', 'draw.answer': '网络认为是',
    'draw.maps': '特征图（每个卷积层和池化层）',
    'draw.maps.note': '红色为正，蓝色为负，白色为零；把鼠标移到（或点击）一个通道上放大。',
    'draw.kernels': '第一层卷积核（学到的滤波器）',
    'draw.nomaps': '这个网络没有卷积层或池化层。',
    'draw.thinking': '计算中…', 'draw.uploaded': '已上传', 'draw.channel': '通道',
    'draw.of': '显示 {shown} / {total} 个通道', 'draw.norun': '还没有训练好的模型。',
    'lessons.pick': '选择一节课。每节课第一次打开时会运行（几秒到几分钟），之后从缓存读取。',
    'lessons.rendering': '正在运行这节课… 已用 {s} 秒（第一次需要一些时间，之后从缓存读取）',
    'lessons.figures': '图', 'lessons.took': '运行用时 {s} 秒',
    'runs.pick': '选择一次训练，查看配置、曲线和评估结果。', 'runs.none': 'runs/ 下还没有训练记录。运行 shendu train 开始第一次训练。',
    'runs.training': '训练中', 'runs.finished': '已完成', 'runs.stopped': '已停止',
    'runs.epochs': '轮次', 'runs.best': '最佳验证准确率', 'runs.config': '配置', 'runs.curves': '学习曲线',
    'runs.history': '每轮记录', 'runs.evals': '评估结果', 'runs.noeval': '还没有评估结果。运行：', 'runs.accuracy': '准确率',
    'runs.draw': '用这个模型画数字', 'runs.live': '训练进行中：每轮结束时曲线自动更新。',
    'runs.loss': '损失', 'runs.acc': '准确率 (%)', 'runs.train': '训练集', 'runs.val': '验证集',
    'runs.epoch': '轮', 'runs.noepoch': '还没有完成任何一轮。',
    'runs.col.epoch': '轮次', 'runs.col.train_loss': '训练损失', 'runs.col.train_acc': '训练准确率',
    'runs.col.val_loss': '验证损失', 'runs.col.val_acc': '验证准确率', 'runs.col.lr': '学习率', 'runs.col.seconds': '秒',
  },
  en: {
    'nav.draw': 'Draw', 'nav.lessons': 'Lessons', 'nav.runs': 'Runs', 'lang.switch': '中文',
    'draw.title': 'Draw a digit', 'draw.undo': 'Undo', 'draw.clear': 'Clear', 'draw.upload': 'Upload image',
    'draw.hint': 'Write a digit with the mouse, a pen or your finger.',
    'draw.sees': 'What the network sees',
    'draw.sees.note': 'The same preprocessing as shendu predict: inverted, cropped, scaled to 20 pixels, centred by mass.',
    'draw.time': 'Round trip', 'draw.probs': 'Class probabilities', 'draw.answer': 'The network says',
    'draw.maps': 'Feature maps (every convolution and pooling layer)',
    'draw.maps.note': 'Red is positive, blue negative, white zero; hover over (or tap) a channel to enlarge it.',
    'draw.kernels': 'First-layer kernels (the learned filters)',
    'draw.nomaps': 'This network has no convolution or pooling layers.',
    'draw.thinking': 'thinking…', 'draw.uploaded': 'uploaded', 'draw.channel': 'channel',
    'draw.of': 'showing {shown} of {total} channels', 'draw.norun': 'No trained model yet.',
    'lessons.pick': 'Pick a lesson. A lesson runs the first time it is opened (seconds to minutes), then comes from the cache.',
    'lessons.rendering': 'Running this lesson… {s} s so far (the first time takes a while; then it is cached)',
    'lessons.figures': 'Figures', 'lessons.took': 'ran in {s} s',
    'runs.pick': 'Pick a run to see its configuration, curves and evaluation results.', 'runs.none': 'No runs under runs/ yet. Start one with: shendu train',
    'runs.training': 'training', 'runs.finished': 'finished', 'runs.stopped': 'stopped',
    'runs.epochs': 'epochs', 'runs.best': 'best validation accuracy', 'runs.config': 'Configuration', 'runs.curves': 'Learning curves',
    'runs.history': 'Epochs', 'runs.evals': 'Evaluation', 'runs.noeval': 'No evaluation yet. Run:', 'runs.accuracy': 'accuracy',
    'runs.draw': 'Draw with this model', 'runs.live': 'Training: the curves update at the end of every epoch.',
    'runs.loss': 'loss', 'runs.acc': 'accuracy (%)', 'runs.train': 'training', 'runs.val': 'validation',
    'runs.epoch': 'epoch', 'runs.noepoch': 'No epoch has finished yet.',
    'runs.col.epoch': 'epoch', 'runs.col.train_loss': 'train loss', 'runs.col.train_acc': 'train acc',
    'runs.col.val_loss': 'val loss', 'runs.col.val_acc': 'val acc', 'runs.col.lr': 'lr', 'runs.col.seconds': 'time (s)',
  },
};

let lang = localStorage.getItem('shendu-lang') === 'en' ? 'en' : 'zh';
const listeners = [];

export function getLang() { return lang; }

export function t(key, values = {}) {
  const text = WORDS[lang][key] ?? WORDS.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ''));
}

export function applyWords(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.getElementById('lang').textContent = t('lang.switch');
}

export function setLang(next) {
  lang = next;
  localStorage.setItem('shendu-lang', lang);
  applyWords();
  for (const fn of listeners) fn(lang);
}

export function onLang(fn) { listeners.push(fn); }
