import numpy as np
import pytest

from dalab.data import DataError, DomainPair, list_domains, load_domain
from dalab.data import embedded
from dalab.data.images import center_by_mass, resize_images
from dalab.data.toy import TOY_NAMES


@pytest.mark.parametrize("name,n_train,n_test,channels", [
    ("mnist", 4000, 1000, 1), ("digits", 1437, 360, 1), ("mnistm", 4000, 1000, 3)])
def test_embedded_image_domains(name, n_train, n_test, channels):
    d = load_domain(name)
    assert d.train.x.shape == (n_train, channels, 28, 28)
    assert d.test.x.shape == (n_test, channels, 28, 28)
    assert d.train.x.dtype == np.float32 and d.train.y.dtype == np.int64
    assert 0.0 <= d.train.x.min() and d.train.x.max() <= 1.0
    assert d.num_classes == 10
    # stratified: every class has a share of the test split within one sample of 20 %
    for tr, te in d.class_counts().values():
        assert abs(te - 0.2 * (tr + te)) <= 1


def test_split_is_deterministic_disjoint_and_seeded():
    a, b = load_domain("digits", 0), load_domain("digits", 0)
    assert np.array_equal(a.test.y, b.test.y) and np.array_equal(a.test.x, b.test.x)
    c = load_domain("digits", 1)
    assert not np.array_equal(a.test.x, c.test.x)
    # train and test are disjoint: no test image appears in train
    train_rows = {row.tobytes() for row in a.train.x}
    assert sum(row.tobytes() in train_rows for row in a.test.x) == 0


def test_domains_are_read_only():
    d = load_domain("mnist")
    with pytest.raises(ValueError):
        d.train.x[0, 0, 0, 0] = 1.0


def test_digits_frame_protocol():
    x, _ = embedded.load_digits.__wrapped__()
    assert x.shape == (1797, 1, 28, 28)
    # each digit fills at most a 20x20 box (MNIST's digit box) inside the 28x28 frame
    rows = (x[:, 0].max(axis=2) > 0).sum(axis=1)
    cols = (x[:, 0].max(axis=1) > 0).sum(axis=1)
    assert rows.max() <= 20 and cols.max() <= 20 and rows.min() >= 8
    m = x[:, 0].sum(axis=(0, 1))
    assert abs((m * np.arange(28)).sum() / m.sum() - 13.5) < 1.0  # centred by mass


def test_mnistm_recipe_is_seeded_and_blends_photos():
    x1, y1 = embedded.load_mnistm.__wrapped__()
    x2, _ = embedded.load_mnistm.__wrapped__()
    assert np.array_equal(x1, x2)
    mx, my = embedded.load_mnist()
    assert np.array_equal(y1, my)
    # |photo - digit|: where the digit is full white, the output is 1 - photo (< 1 on average);
    # off the stroke it is the photo itself, so images differ from each other in colour
    assert x1.shape == (5000, 3, 28, 28)
    assert x1[:, 0].std(axis=(1, 2)).mean() > 0.05
    assert not np.allclose(x1[:, 0], x1[:, 1])


def test_disk_cache_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("DALAB_CACHE_DIR", str(tmp_path))
    x, y = embedded.load_digits()
    assert list(tmp_path.glob("load_digits-v*.npz"))
    x2, y2 = embedded.load_digits()
    assert np.array_equal(x, x2) and np.array_equal(y, y2)


@pytest.mark.parametrize("name", TOY_NAMES)
def test_toy_domains(name):
    d = load_domain(name)
    assert d.kind == "points" and d.input_shape == (2,)
    assert len(d.train) + len(d.test) in (500, 1000)


def test_toy_domain_parameters():
    assert np.allclose(load_domain("gauss-mean-s").train.x.mean(0), [5, 5], atol=0.4)
    assert np.allclose(load_domain("gauss-mean-t").train.x.mean(0), [1, 1], atol=0.4)
    assert np.allclose(load_domain("blobs-s").train.x.mean(0), [11, 11], atol=0.3)
    e1, e2 = load_domain("ellipse-1"), load_domain("ellipse-2")
    # domain 1 splits classes up/down, domain 2 left/right (orthogonal arrangement, Fig. 2)
    up = e1.train.x[e1.train.y == 0, 1].mean() - e1.train.x[e1.train.y == 1, 1].mean()
    left = e2.train.x[e2.train.y == 1, 0].mean() - e2.train.x[e2.train.y == 0, 0].mean()
    assert up > 0.5 and left > 0.5


def test_unknown_domain_lists_valid_names():
    with pytest.raises(DataError) as e:
        load_domain("mnsit")
    assert "mnist" in str(e.value) and "digits" in str(e.value) and "folder:PATH" in str(e.value)


def test_list_domains_covers_all_origins():
    origins = {d.origin for d in list_domains()}
    assert origins == {"embedded", "file"}


def test_resize_and_centre_helpers():
    x = np.zeros((2, 1, 16, 16), np.float32)
    x[:, :, 2:6, 2:6] = 1.0
    r = resize_images(x, 28)
    assert r.shape == (2, 1, 28, 28) and 0 <= r.min() and r.max() <= 1
    c = center_by_mass(np.pad(x, ((0, 0), (0, 0), (6, 6), (6, 6))))
    m = c[0, 0]
    cy = (m.sum(1) * np.arange(28)).sum() / m.sum()
    assert abs(cy - 13.5) <= 0.5


# -- pairs ------------------------------------------------------------------------------

def test_pair_harmonises_channels_and_batches_are_balanced():
    p = DomainPair("mnist", "mnistm")
    assert p.input_shape == (3, 28, 28)
    b = next(p.batches(32, seed=0))
    assert b.x_s.shape == b.x_t.shape == (32, 3, 28, 28)
    assert b.y_s.shape == (32,) and b.y_t is None
    # the gray source was repeated, not blended: its three channels are equal
    assert np.array_equal(b.x_s[:, 0].numpy(), b.x_s[:, 2].numpy())


def test_batches_cover_each_epoch_without_replacement():
    p = DomainPair("digits", "mnist")
    n = len(p.y_s_train)
    it = p.batches(64, seed=3)
    seen = np.concatenate([next(it).y_s.numpy() for _ in range(n // 64)])
    # one epoch's worth of source labels has the class histogram of the train split
    assert np.abs(np.bincount(seen, minlength=10)
                  - np.bincount(p.y_s_train[:len(seen)], minlength=10)).max() < 25
    a = [next(p.batches(16, seed=1)).x_t for _ in range(2)]
    assert np.array_equal(a[0].numpy(), a[1].numpy())  # seeded


def test_target_labels_only_through_evaluation():
    p = DomainPair("mnist", "digits")
    assert all(next(p.batches(8)).y_t is None for _ in range(3))
    b = next(p.batches(8, with_target_labels=True))
    assert b.y_t is not None and b.y_t.shape == (8,)
    x_tr, y_tr = p.evaluation.train_labeled()
    assert len(x_tr) == len(y_tr) == len(p.x_t_train)
    public = {k for k in vars(p) if not k.startswith("_")}
    assert not {"y_t_train", "y_t_test", "y_t"} & public


def test_pair_errors(npz_domain):
    with pytest.raises(DataError, match="both sides must be images"):
        DomainPair("mnist", "moons-s")
    with pytest.raises(DataError, match="label sets must match"):
        DomainPair("mnist", npz_domain(classes=3))
    p = DomainPair(npz_domain("a", classes=3), npz_domain("b", classes=3, channels=3))
    assert p.input_shape == (3, 28, 28) and p.num_classes == 3
