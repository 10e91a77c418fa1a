"""Image data sets as sources: MNIST, Fashion-MNIST, SVHN and scikit-learn's 8x8 digits.

Images are kept as ``uint8`` arrays of shape ``(n, C, H, W)`` and converted to ``float32`` in
[0, 1] when sampled. Files are read from a data directory:

1. the ``data_dir`` argument (``--data-dir`` on the command line), else
2. the ``RDLAB_DATA`` environment variable, else
3. ``~/.cache/rdlab`` (where :func:`download_dataset` puts files), and for Fashion-MNIST also
   ``/usr/share/datasets/fashion-mnist`` (the Debian package ``dataset-fashion-mnist``).

In each directory the files may sit at the top or in a sub-folder named after the data set
(``mnist/``, ``fashion-mnist/``, ``fmnist/``, ``svhn/``). IDX files may be gzipped or not. A
missing file raises :class:`FileNotFoundError` naming the file and every directory searched.

``digits`` (1797 images of 8x8, scikit-learn) needs no files and is the embedded default.
Nothing here downloads unless :func:`download_dataset` is called explicitly.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from rdlab.core.information import LN2
from rdlab.core.validation import check_int, make_rng
from rdlab.sources.base import Source

IDX_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

SUBDIRS = {
    "mnist": ("mnist", "MNIST"),
    "fashion-mnist": ("fashion-mnist", "fmnist", "FashionMNIST"),
    "svhn": ("svhn", "SVHN"),
}

SYSTEM_DIRS = {"fashion-mnist": (Path("/usr/share/datasets/fashion-mnist"),)}

DOWNLOADS: dict[str, dict[str, tuple[str, str]]] = {
    # name -> file -> (url, md5 of the canonical file)
    "mnist": {
        "train-images-idx3-ubyte.gz": (
            "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        ),
        "train-labels-idx1-ubyte.gz": (
            "https://ossci-datasets.s3.amazonaws.com/mnist/train-labels-idx1-ubyte.gz",
            "d53e105ee54ea40749a09fcbcd1e9432",
        ),
        "t10k-images-idx3-ubyte.gz": (
            "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz",
            "9fb629c4189551a2d022fa330f9573f3",
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz",
            "ec29112dd5afa0611ce80d1b7f02629c",
        ),
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": (
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz",
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        ),
        "train-labels-idx1-ubyte.gz": (
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-labels-idx1-ubyte.gz",
            "25c81989df183df01b3e8a0aad5dffbe",
        ),
        "t10k-images-idx3-ubyte.gz": (
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-images-idx3-ubyte.gz",
            "bef4ecab320f06d8554ea6380940ec79",
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-labels-idx1-ubyte.gz",
            "bb300cfdad3c16e7a12a480ee83cd310",
        ),
    },
    "svhn": {
        "train_32x32.mat": (
            "http://ufldl.stanford.edu/housenumbers/train_32x32.mat",
            "e26dedcc434d2e4c54c9b2d4a06d8373",
        ),
        "test_32x32.mat": (
            "http://ufldl.stanford.edu/housenumbers/test_32x32.mat",
            "eb5a983be6a315427106f1b164d9cef3",
        ),
    },
}
"""Canonical download locations (the torchvision mirror for MNIST) and checksums."""


# -- readers ----------------------------------------------------------------------------------


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not.

    The header is two zero bytes, a type code (0x08 = uint8, ...), the number of dimensions,
    then one big-endian uint32 per dimension; the data follow in C order.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        A bad magic number, an unknown type code, or a size that does not match the header.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"IDX file {p} does not exist")
    raw = p.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{p} is not a valid gzip file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{p} is not an IDX file (bad magic number {raw[:4].hex()})")
    code, ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        raise ValueError(f"{p}: unknown IDX type code 0x{code:02x}")
    if ndim == 0:
        raise ValueError(f"{p}: IDX file with 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{p}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(IDX_DTYPES[code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{p}: header says shape {shape} ({expected} bytes) but the file holds "
            f"{len(raw) - header} bytes of data"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).copy()


def write_idx(path: str | os.PathLike, array: np.ndarray, *, compress: bool = False) -> Path:
    """Write ``array`` (uint8) as an IDX file, gzipped when ``compress`` (used by tests)."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, a.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in a.shape)
    data = header + a.tobytes()
    p = Path(path)
    p.write_bytes(gzip.compress(data) if compress else data)
    return p


def read_svhn(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read SVHN cropped digits from the official ``.mat`` file or an ``.npz`` copy.

    ``.mat``: ``X`` of shape (32, 32, 3, n) and ``y`` (n, 1); ``.npz``: ``X`` of shape
    (n, 32, 32, 3) and ``y`` (n,). Returns images (n, 3, 32, 32) uint8 and labels (n,) with
    the .mat convention (10 = digit 0).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"SVHN file {p} does not exist")
    if p.suffix == ".mat":
        from scipy.io import loadmat

        mat = loadmat(str(p))
        if "X" not in mat or "y" not in mat:
            raise ValueError(f"{p} has no 'X' and 'y' arrays; not an SVHN .mat file")
        x = np.transpose(mat["X"], (3, 2, 0, 1))
        y = np.asarray(mat["y"]).reshape(-1)
    elif p.suffix == ".npz":
        with np.load(p, allow_pickle=False) as f:
            if "X" not in f or "y" not in f:
                raise ValueError(f"{p} has no 'X' and 'y' arrays; not an SVHN .npz file")
            x = np.transpose(f["X"], (0, 3, 1, 2))
            y = np.asarray(f["y"]).reshape(-1)
    else:
        raise ValueError(f"SVHN files are .mat or .npz, got {p.name}")
    if x.ndim != 4 or x.shape[1:] != (3, 32, 32):
        raise ValueError(f"{p}: SVHN images must be 32x32 RGB, got shape {x.shape}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{p}: {x.shape[0]} images but {y.shape[0]} labels")
    return np.ascontiguousarray(x, dtype=np.uint8), y.astype(np.int64)


# -- locating files ---------------------------------------------------------------------------


def data_dirs(data_dir: str | os.PathLike | None = None, dataset: str | None = None) -> list[Path]:
    """The directories searched, in order (see the module docstring)."""
    roots: list[Path] = []
    if data_dir is not None:
        roots.append(Path(data_dir))
    elif os.environ.get("RDLAB_DATA"):
        roots.append(Path(os.environ["RDLAB_DATA"]))
    roots.append(Path.home() / ".cache" / "rdlab")
    out: list[Path] = []
    for root in roots:
        out.append(root)
        for sub in SUBDIRS.get(dataset or "", ()):
            out.append(root / sub)
    out.extend(SYSTEM_DIRS.get(dataset or "", ()))
    return out


def find_file(
    dataset: str, names: tuple[str, ...], data_dir: str | os.PathLike | None = None
) -> Path:
    """The first existing file among ``names`` in :func:`data_dirs`; else a clear error."""
    dirs = data_dirs(data_dir, dataset)
    for d in dirs:
        for name in names:
            if (d / name).is_file():
                return d / name
    looked = ", ".join(str(d) for d in dirs)
    raise FileNotFoundError(
        f"{dataset}: missing file {' or '.join(names)}; looked in {looked}. Pass --data-dir "
        "(or set RDLAB_DATA) to the folder holding it"
        + (", or call rdlab.sources.images.download_dataset" if dataset in DOWNLOADS else "")
    )


def load_idx_images(
    dataset: str, split: str = "train", data_dir: str | os.PathLike | None = None
) -> np.ndarray:
    """MNIST or Fashion-MNIST images of a split as uint8 (n, 1, 28, 28)."""
    if split not in MNIST_FILES:
        raise ValueError(f"split must be one of {sorted(MNIST_FILES)}, got {split!r}")
    stem = MNIST_FILES[split][0]
    path = find_file(dataset, (stem + ".gz", stem), data_dir)
    images = read_idx(path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{path}: expected uint8 images of shape (n, H, W), got {images.dtype} {images.shape}"
        )
    return images[:, None, :, :]


def load_svhn(split: str = "test", data_dir: str | os.PathLike | None = None) -> np.ndarray:
    """SVHN images of a split as uint8 (n, 3, 32, 32) (``.mat``, or an ``.npz`` copy)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    names = (f"{split}_32x32.mat", f"svhn_{split}.npz", f"svhn_{split}_first10000.npz")
    return read_svhn(find_file("svhn", names, data_dir))[0]


def load_digits_images() -> np.ndarray:
    """scikit-learn's 1797 digits (8x8, values 0..16) as uint8 (n, 1, 8, 8) scaled to 0..255."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError(
            "the 'digits' source needs scikit-learn (pip install scikit-learn)"
        ) from None
    raw = load_digits().images  # float, 0..16
    return np.round(raw * (255.0 / 16.0)).astype(np.uint8)[:, None, :, :]


def download_dataset(
    name: str, dest: str | os.PathLike | None = None, *, overwrite: bool = False
) -> list[Path]:
    """Download a data set's files from their canonical location into ``dest``.

    ``dest`` defaults to ``~/.cache/rdlab/<name>``; the MD5 of each file is checked. Needs
    internet access; never called by rdlab itself.
    """
    if name not in DOWNLOADS:
        raise ValueError(f"no download for {name!r}; known: {', '.join(sorted(DOWNLOADS))}")
    folder = Path(dest) if dest is not None else Path.home() / ".cache" / "rdlab" / name
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for fname, (url, md5) in DOWNLOADS[name].items():
        target = folder / fname
        if target.exists() and not overwrite:
            out.append(target)
            continue
        with urllib.request.urlopen(url, timeout=60) as resp:
            data = resp.read()
        digest = hashlib.md5(data).hexdigest()
        if digest != md5:
            raise ValueError(f"{url}: MD5 {digest} does not match the expected {md5}")
        from rdlab.core.io import write_bytes_atomic

        write_bytes_atomic(target, data)
        out.append(target)
    return out


# -- the source -------------------------------------------------------------------------------


def pad_images(images: np.ndarray, size: int) -> np.ndarray:
    """Zero-pad (n, C, H, W) images symmetrically to ``size x size`` (e.g. MNIST 28 -> 32)."""
    n, c, h, w = images.shape
    if h > size or w > size:
        raise ValueError(f"cannot pad {h}x{w} images to {size}x{size}")
    top, left = (size - h) // 2, (size - w) // 2
    out = np.zeros((n, c, size, size), dtype=images.dtype)
    out[:, :, top : top + h, left : left + w] = images
    return out


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of uint8 (n, C, H, W) images to ``size x size``, rounded back to uint8.

    Pillow's ``Image.resize(..., BILINEAR)`` on each channel: what torchvision's ``Resize(size)``
    does to a PIL image, the preprocessing of the official NERD-RCC MNIST code (28 -> 32).
    """
    from PIL import Image

    a = np.asarray(images)
    if a.ndim != 4 or a.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (n, C, H, W), got {a.dtype} {a.shape}")
    size = check_int("size", size, minimum=1, maximum=4096)
    n, c = a.shape[:2]
    out = np.empty((n, c, size, size), dtype=np.uint8)
    for i in range(n):
        for ch in range(c):
            im = Image.fromarray(a[i, ch], mode="L").resize((size, size), Image.BILINEAR)
            out[i, ch] = np.asarray(im, dtype=np.uint8)
    return out


class ImageSource(Source):
    """A finite set of images; sampling draws images uniformly with replacement.

    Parameters
    ----------
    images : ndarray, shape (n, C, H, W), uint8
        The data set.
    name : str
        Its name (``"mnist"``, ...).

    Attributes
    ----------
    data : ndarray
        The images (uint8); :meth:`as_float` maps them to float32 in [0, 1].
    image_shape : tuple
        (C, H, W).
    dim : int
        C * H * W.
    """

    def __init__(self, images: np.ndarray, name: str = "images") -> None:
        a = np.asarray(images)
        if a.ndim != 4:
            raise ValueError(f"images must have shape (n, C, H, W), got {a.shape}")
        if a.dtype != np.uint8:
            raise TypeError(f"images must be uint8 (0..255), got {a.dtype}")
        if a.shape[0] < 1 or a.shape[1] not in (1, 3):
            raise ValueError(f"images must be (n >= 1, C in {{1, 3}}, H, W), got {a.shape}")
        self.data = a
        self.name = name
        self.image_shape = tuple(int(s) for s in a.shape[1:])
        self.dim = int(np.prod(self.image_shape))

    @staticmethod
    def as_float(images: np.ndarray) -> np.ndarray:
        return np.asarray(images, dtype=np.float32) / np.float32(255.0)

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def sample(self, n: int, seed: object) -> np.ndarray:
        n = self._check_n(n)
        idx = make_rng(seed).integers(0, self.data.shape[0], size=n)
        return self.as_float(self.data[idx])

    def mean_image(self) -> np.ndarray:
        return self.as_float(self.data).mean(0)

    def rows(self) -> np.ndarray:
        """The images as float64 rows in [0, 1], shape (n, C * H * W)."""
        return self.as_float(self.data).reshape(len(self), -1).astype(np.float64)

    def zero_rate_distortion(self) -> float:
        """D_max of the set (:func:`zero_rate_distortion_of_rows` of :meth:`rows`)."""
        return zero_rate_distortion_of_rows(self.rows())

    def describe(self) -> dict[str, Any]:
        return {"source": self.name, "n": len(self), "image_shape": list(self.image_shape)}


def zero_rate_distortion_of_rows(rows: np.ndarray) -> float:
    r""":math:`D_{max} = \frac1n\sum_i \|x_i - \bar x\|^2` of float64 rows: the squared error
    per sample of coding every sample as the mean (the distortion at rate 0).

    Examples
    --------
    >>> zero_rate_distortion_of_rows(np.array([[1.0, 0.0], [-1.0, 0.0]]))
    1.0
    """
    x = np.asarray(rows, dtype=np.float64)
    return float(((x - x.mean(0)) ** 2).sum(1).mean())


def slopes_in_d_max_units(multiples, d_max: float) -> list[float]:
    r"""Slopes of R(D) in bits per unit of distortion, :math:`k / (D_{max} \ln 2)` for each
    multiple :math:`k` (negative :math:`k`: a falling curve): the multiplier
    :math:`\beta = -k / D_{max}` nats per unit scaled to the image set, so that one list of
    multiples suits sets of any size and pixel range.

    Examples
    --------
    >>> [round(s, 6) for s in slopes_in_d_max_units([-1.0, -2.0], 1.0 / LN2)]
    [-1.0, -2.0]
    """
    return [float(k) / float(d_max) / LN2 for k in multiples]


def image_source(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    split: str = "train",
    n: int | None = None,
    pad_to: int | None = None,
    resize_to: int | None = None,
) -> ImageSource:
    """Build an image source by name: ``mnist``, ``fmnist``, ``svhn`` or ``digits``.

    Parameters
    ----------
    data_dir : path, optional
        Where the files are (see the module docstring).
    split : {"train", "test"}
        Which part of the data set (``digits`` has one part).
    n : int, optional
        Keep the first ``n`` images only.
    pad_to : int, optional
        Zero-pad to ``pad_to x pad_to`` (the DCGAN generator needs sides divisible by 16;
        MNIST and Fashion-MNIST default to 32).
    resize_to : int, optional
        Instead of padding, resize bilinearly to ``resize_to x resize_to``
        (:func:`resize_images`; ``32`` is the official NERD-RCC preprocessing of MNIST).
    """
    if pad_to is not None and resize_to is not None:
        raise ValueError("give at most one of pad_to and resize_to")
    if name == "mnist":
        images = load_idx_images("mnist", split, data_dir)
        pad_to = 32 if pad_to is None and resize_to is None else pad_to
    elif name == "fmnist":
        images = load_idx_images("fashion-mnist", split, data_dir)
        pad_to = 32 if pad_to is None and resize_to is None else pad_to
    elif name == "svhn":
        images = load_svhn("test" if split == "test" else split, data_dir)
    elif name == "digits":
        images = load_digits_images()
    else:
        raise ValueError(f"unknown image set {name!r}; known: digits, fmnist, mnist, svhn")
    if n is not None:
        n = check_int("n", n, minimum=1)
        images = images[:n]
    if pad_to is not None:
        images = pad_images(images, check_int("pad_to", pad_to, minimum=1))
    if resize_to is not None:
        images = resize_images(images, check_int("resize_to", resize_to, minimum=1))
    return ImageSource(images, name)


__all__ = [
    "DOWNLOADS",
    "ImageSource",
    "data_dirs",
    "download_dataset",
    "find_file",
    "image_source",
    "load_digits_images",
    "load_idx_images",
    "load_svhn",
    "pad_images",
    "read_idx",
    "read_svhn",
    "resize_images",
    "slopes_in_d_max_units",
    "write_idx",
    "zero_rate_distortion_of_rows",
]
