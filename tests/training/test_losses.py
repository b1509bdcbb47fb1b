from __future__ import annotations

import math

import pytest
import torch

from ehrfeat.training.losses import DistillLoss, RankLoss, SynonymLoss, TreeLoss


def pull(s: float, alpha: float = 2.0, lam: float = 0.5) -> float:
    return math.log(1 + math.exp(-alpha * (s - lam))) / alpha


def push(s: float, beta: float = 50.0, lam: float = 0.5) -> float:
    return math.log(1 + math.exp(beta * (s - lam))) / beta


def test_three_categories_by_hand() -> None:
    # cos 0.6, 0.2, -0.2 -> s = 0.8, 0.6, 0.4; categories 0, 1, 2; pairs (0,1), (0,2), (1,2).
    # pull(0.8) = 0.5*ln(1+e^-0.6) = 0.218744; pull(0.6) = 0.5*ln(1+e^-0.2) = 0.299069
    # push(0.6) = ln(1+e^5)/50 = 0.100134;     push(0.4) = ln(1+e^-5)/50 = 0.000134
    expected = (pull(0.8) + push(0.6)) + (pull(0.8) + push(0.4)) + (pull(0.6) + push(0.4))
    assert expected == pytest.approx(0.218744 * 2 + 0.100134 + 0.299069 + 0.000134 * 2, abs=2e-6)
    loss = TreeLoss()(torch.tensor([0.6, 0.2, -0.2]), torch.tensor([0, 1, 2]))
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_means_within_a_category_by_hand() -> None:
    # two category-0 pairs (s = 0.8 and 1.0) and one category-3 pair (s = 0.0): one term (0, 3).
    expected = (pull(0.8) + pull(1.0)) / 2 + push(0.0)
    loss = TreeLoss()(torch.tensor([0.6, 1.0, -1.0]), torch.tensor([0, 0, 3]))
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_custom_alpha_beta_lambda() -> None:
    expected = pull(0.75, alpha=1.0, lam=0.6) + push(0.5, beta=10.0, lam=0.6)
    loss = TreeLoss(alpha=1.0, beta=10.0, lambda_=0.6)(torch.tensor([0.5, 0.0]), torch.tensor([1, 2]))
    assert loss.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    ("cos", "cats"),
    [
        ([0.9, 0.1, -0.5], [0, 3, 3]),  # categories 1 and 2 missing between 0 and 3
        ([0.9, -0.9], [1, 3]),  # 2 missing
        ([0.3, 0.4, 0.5], [2, 2, 2]),  # one category only
        ([1.0, -1.0], [0, 3]),  # extreme cosines (beta = 50 overflows a naive exp)
    ],
)
def test_finite_with_missing_categories(cos: list[float], cats: list[int]) -> None:
    x = torch.tensor(cos, requires_grad=True)
    loss = TreeLoss(beta=500.0)(x, torch.tensor(cats))
    loss.backward()
    assert torch.isfinite(loss)
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_single_category_and_empty_batches_give_zero_with_a_graph() -> None:
    x = torch.tensor([0.3, 0.8], requires_grad=True)
    loss = TreeLoss()(x, torch.tensor([1, 1]))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    empty = TreeLoss()(torch.zeros(0, requires_grad=True), torch.zeros(0, dtype=torch.long))
    assert empty.item() == 0.0


def test_orders_categories() -> None:
    loss = TreeLoss()
    good = loss(torch.tensor([0.9, 0.5, 0.1, -0.5]), torch.tensor([0, 1, 2, 3]))
    bad = loss(torch.tensor([-0.5, 0.1, 0.5, 0.9]), torch.tensor([0, 1, 2, 3]))
    assert good < bad


def test_synonym_loss_is_finite_and_learns_direction() -> None:
    torch.manual_seed(0)
    emb = torch.randn(8, 16, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    loss = SynonymLoss()(emb, labels)
    loss.backward()
    assert torch.isfinite(loss) and loss.item() > 0
    one_label = SynonymLoss()(torch.randn(4, 16, requires_grad=True), torch.zeros(4, dtype=torch.long))
    assert torch.isfinite(one_label) and one_label.item() == 0.0


def test_per_category_thresholds_by_hand() -> None:
    # lambdas (0.9, 0.8, 0.6): L_01 uses 0.9, L_02 and L_12 use 0.8, L_03 0.6.
    # cos 0.7, 0.5, 0.3, -0.1 -> s = 0.85, 0.75, 0.65, 0.45 for categories 0, 1, 2, 3.
    lams = (0.9, 0.8, 0.6)
    s = {0: 0.85, 1: 0.75, 2: 0.65, 3: 0.45}
    expected = 0.0
    for i in range(4):
        for j in range(i + 1, 4):
            lam = lams[j - 1]
            expected += pull(s[i], lam=lam) + push(s[j], lam=lam)
    loss = TreeLoss(lambda_=lams)(torch.tensor([0.7, 0.5, 0.3, -0.1]), torch.tensor([0, 1, 2, 3]))
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    same = TreeLoss(lambda_=(0.5, 0.5, 0.5))(torch.tensor([0.7, 0.5, 0.3, -0.1]), torch.tensor([0, 1, 2, 3]))
    assert same.item() == pytest.approx(TreeLoss(lambda_=0.5)(torch.tensor([0.7, 0.5, 0.3, -0.1]), torch.tensor([0, 1, 2, 3])).item(), rel=1e-6)


def test_per_category_thresholds_hold_categories_in_bands() -> None:
    # A category-1 pair at s = 0.8 (cos 0.6) sits inside its band (λ_2 0.75 .. λ_1 0.9): the push
    # is ~0. One λ of 0.6 pushes the same pair down with the full slope (d loss / d cos = 0.5).
    x = torch.tensor([0.9, 0.6], requires_grad=True)
    TreeLoss(lambda_=(0.9, 0.75, 0.6))(x, torch.tensor([0, 1])).backward()
    assert x.grad is not None and 0 < x.grad[1] < 0.01 and x.grad[0] < 0  # category 0 still pulled up
    y = torch.tensor([0.9, 0.6], requires_grad=True)
    TreeLoss(lambda_=0.6)(y, torch.tensor([0, 1])).backward()
    assert y.grad is not None and y.grad[1] == pytest.approx(0.5, abs=1e-3)


def test_a_category_without_a_threshold_is_an_error() -> None:
    with pytest.raises(ValueError, match="category 3 has no threshold"):
        TreeLoss(lambda_=(0.9, 0.8))(torch.tensor([0.9, 0.1]), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="non-empty"):
        TreeLoss(lambda_=())


def test_distill_loss_by_hand() -> None:
    # Three 2-d texts. Teacher: e1, e2, (e1 + e2)/sqrt2 -> off-diagonal cosines 0, r, r (r = 1/sqrt2).
    # Student: e1, e1, e2 -> cosines 1, 0, 0. Off-diagonal pairs (both orders): (1-0)^2, (0-r)^2, (0-r)^2, each twice.
    r = 1 / math.sqrt(2)
    teacher = torch.tensor([[1.0, 0.0], [0.0, 1.0], [r, r]])
    student = torch.tensor([[2.0, 0.0], [3.0, 0.0], [0.0, 5.0]])  # norms do not matter
    expected = (1.0 + 0.5 + 0.5) / 3
    assert DistillLoss()(student, teacher).item() == pytest.approx(expected)


def test_distill_loss_is_zero_for_the_same_geometry_and_keeps_a_graph() -> None:
    torch.manual_seed(0)
    x = torch.randn(5, 8, requires_grad=True)
    rotation = torch.linalg.qr(torch.randn(8, 8))[0]
    loss = DistillLoss()(x, (x @ rotation).detach() * 3.0)  # a rotated, scaled copy has the same cosines
    assert loss.item() == pytest.approx(0.0, abs=1e-10)
    one = DistillLoss()(x[:1], x[:1].detach())
    one.backward()  # a single text: zero loss that still has a graph
    assert one.item() == 0.0


def test_distill_loss_refuses_mismatched_batches() -> None:
    with pytest.raises(ValueError, match="different numbers"):
        DistillLoss()(torch.zeros(3, 2), torch.zeros(2, 2))


def test_rank_loss_by_hand() -> None:
    # anchor 0: categories 0, 1, 2 at s = 0.8, 0.85, 0.6; anchor 1: categories 1, 3 at s = 0.5, 0.7.
    # triples (s_far - s_close + 0.05): (0,1) 0.1, (0,2) -0.15, (1,2) -0.2, anchor 1 (1,3) 0.25.
    # ln(1+e^2)/20 = 0.106346, ln(1+e^-3)/20 = 0.002429, ln(1+e^-4)/20 = 0.000907, ln(1+e^5)/20 = 0.250336
    cos = torch.tensor([0.6, 0.7, 0.2, 0.0, 0.4])
    loss = RankLoss(margin=0.05, gamma=20.0)(cos, torch.tensor([0, 1, 2, 1, 3]), torch.tensor([0, 0, 0, 1, 1]))
    assert loss.item() == pytest.approx((0.106346 + 0.002429 + 0.000907 + 0.250336) / 4, abs=2e-6)


def test_rank_loss_matches_a_loop_over_anchors() -> None:
    # pytorch-metric-learning's way: the vectorised loss against a plain loop on random batches.
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        cos = torch.rand(40, generator=gen) * 2 - 1
        cats = torch.randint(0, 4, (40,), generator=gen)
        anchors = torch.randint(0, 6, (40,), generator=gen)
        terms = []
        for a in range(40):
            for b in range(40):
                if anchors[a] == anchors[b] and cats[a] < cats[b]:
                    x = (cos[b].item() + 1) / 2 - (cos[a].item() + 1) / 2 + 0.1
                    terms.append(math.log(1 + math.exp(5.0 * x)) / 5.0)
        loss = RankLoss(margin=0.1, gamma=5.0)(cos, cats, anchors)
        assert loss.item() == pytest.approx(sum(terms) / len(terms), rel=1e-5)


def test_rank_loss_ignores_other_anchors_and_gives_zero_with_a_graph() -> None:
    cos = torch.tensor([0.9, -0.9, 0.1], requires_grad=True)
    # categories only differ across anchors (and anchor 2 has one category): no triple
    loss = RankLoss()(cos, torch.tensor([0, 3, 1]), torch.tensor([0, 1, 2]))
    assert loss.item() == 0.0
    loss.backward()
    assert cos.grad is not None


def test_rank_loss_orders_an_anchors_categories() -> None:
    cos = torch.zeros(3, requires_grad=True)
    opt = torch.optim.SGD([cos], lr=1.0)
    for _ in range(200):
        opt.zero_grad()
        RankLoss(margin=0.05)(cos, torch.tensor([0, 1, 2]), torch.tensor([7, 7, 7])).backward()
        opt.step()
    assert cos[0] > cos[1] > cos[2]


def test_rank_loss_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="gamma"):
        RankLoss(gamma=0.0)
    with pytest.raises(ValueError, match="margin"):
        RankLoss(margin=-0.1)


def test_depth_shift_moves_each_pairs_band_by_hand() -> None:
    # mean depth 2, shift 0.01 per level, at most 3 levels: depths 4, 6, 1, -1 -> offsets +0.02, +0.03 (6 is
    # clipped to 3 levels), -0.01, 0 (no depth recorded) -> s = 0.85, 0.75, 0.65, 0.45 become 0.83, 0.72, 0.66, 0.45
    lams = (0.9, 0.8, 0.6)
    s = {0: 0.83, 1: 0.72, 2: 0.66, 3: 0.45}
    expected = sum(pull(s[i], lam=lams[j - 1]) + push(s[j], lam=lams[j - 1]) for i in range(4) for j in range(i + 1, 4))
    loss = TreeLoss(lambda_=lams, depth_shift=0.01, mean_depth=2.0)
    cos, cats, depth = torch.tensor([0.7, 0.5, 0.3, -0.1]), torch.tensor([0, 1, 2, 3]), torch.tensor([4, 6, 1, -1])
    assert loss.shift(depth).tolist() == pytest.approx([0.02, 0.03, -0.01, 0.0])
    assert loss(cos, cats, depth).item() == pytest.approx(expected, rel=1e-5)
    unshifted = TreeLoss(lambda_=lams)(cos, cats)
    assert loss(cos, cats).item() == pytest.approx(unshifted.item(), rel=1e-6)  # no depths: the plain bands
    assert TreeLoss(lambda_=lams)(cos, cats, depth).item() == pytest.approx(unshifted.item(), rel=1e-6)  # no shift asked
    with pytest.raises(ValueError, match="depth_shift must be >= 0"):
        TreeLoss(depth_shift=-0.01)


def test_a_deep_pair_may_sit_higher_in_its_band() -> None:
    # category 1 at s = 0.92 (cos 0.84) against synonyms, λ_1 = 0.9: above its band, pushed down
    # (d loss / d cos = 0.5·sigmoid(50·0.02) = 0.37); meeting three levels below the mean with a shift
    # of 0.03 per level its band's top is 0.99, s - 0.09 = 0.83: pushed only 0.5·sigmoid(-3.5) = 0.015
    x = torch.tensor([0.95, 0.84], requires_grad=True)
    TreeLoss(lambda_=(0.9, 0.8, 0.6))(x, torch.tensor([0, 1])).backward()
    assert x.grad is not None and x.grad[1].item() == pytest.approx(0.5 / (1 + math.exp(-1.0)), rel=1e-3)
    y = torch.tensor([0.95, 0.84], requires_grad=True)
    TreeLoss(lambda_=(0.9, 0.8, 0.6), depth_shift=0.03, mean_depth=0.0)(y, torch.tensor([0, 1]), torch.tensor([-1, 3])).backward()
    assert y.grad is not None and y.grad[1].item() == pytest.approx(0.5 / (1 + math.exp(3.5)), rel=1e-3)
