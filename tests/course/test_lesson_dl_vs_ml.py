"""深度学习与机器学习: the conclusions follow the numbers (made-up tables, no training, no PyTorch)."""

from __future__ import annotations

from shendu.lessons import dl_vs_ml
from shendu.lessons._i18n import language

LOGREG, SVM = dl_vs_ml.CLASSICAL
SIZES = [10, 300]


def conclude(acc, lang="zh", full=False):
    with language(lang):
        return "\n".join(dl_vs_ml._conclusion(acc, SIZES, dict.fromkeys(dl_vs_ml.CLASSICAL), 500, full))


def table(logreg, svm, mlp, lenet):
    return {LOGREG: logreg, SVM: svm, dl_vs_ml.MLP: mlp, dl_vs_ml.LENET: lenet}


def test_a_clear_classical_win_on_little_data_agrees_with_the_notes():
    text = conclude(table([0.60, 0.85], [0.50, 0.86], [0.40, 0.87], [0.45, 0.90]))
    assert "与笔记一致：只有 10 个样本时" in text and "超出验证集的误差范围" in text
    assert "与笔记一致：数据多时（300）神经网络最好" in text


def test_a_small_gap_is_called_noise():
    # 2·√(0.5·0.5/500) = 4.5 points: a 1-point lead is within the noise
    text = conclude(table([0.50, 0.85], [0.45, 0.86], [0.40, 0.87], [0.51, 0.90]))
    assert "与笔记不同" in text and "误差范围 ±4.5% 以内" in text


def test_lenet_winning_gives_the_convolution_reason_the_mlp_does_not():
    lenet_wins = conclude(table([0.40, 0.85], [0.40, 0.86], [0.45, 0.87], [0.60, 0.90]))
    assert "卷积本身就带有图像的先验" in lenet_wins
    mlp_wins = conclude(table([0.40, 0.85], [0.40, 0.86], [0.60, 0.87], [0.45, 0.90]))
    assert "卷积本身" not in mlp_wins and "同样的像素" in mlp_wins


def test_classical_still_best_with_the_most_data_is_said():
    text = conclude(table([0.40, 0.85], [0.40, 0.95], [0.45, 0.87], [0.60, 0.90]))
    assert "300 个样本时传统模型仍然最好" in text and "--full" in text
    assert "--full" not in conclude(table([0.40, 0.85], [0.40, 0.95], [0.45, 0.87], [0.60, 0.90]), full=True)
    en = conclude(table([0.40, 0.85], [0.40, 0.95], [0.45, 0.87], [0.60, 0.90]), lang="en")
    assert "a shallow network, not a deep one" in en and "传统" not in en
