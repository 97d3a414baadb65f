"""Detection on real photos: duplicates, faces cut by the frame, turned and huge photos."""

import cv2
import numpy as np

from recognition.detection import _without_duplicates
from recognition.imaging import load_image_array
from recognition.schemas import Box, DetectedFace
from recognition.services import pipeline
from tests.conftest import faces_dir


def _image(relative_path: str) -> np.ndarray:
    path = faces_dir() / relative_path
    return load_image_array(path.read_bytes(), name=path.name, max_pixels=80_000_000)


def test_overlapping_boxes_are_one_face():
    large = DetectedFace(Box(100, 100, 200, 240), 0.99)
    inner = DetectedFace(Box(130, 140, 150, 170), 1.0)
    elsewhere = DetectedFace(Box(400, 100, 120, 140), 0.98)

    faces = _without_duplicates([inner, elsewhere, large])

    assert faces == [large, elsewhere]


def test_face_cut_by_frame_is_found():
    # The man cut by the bottom-right corner: no pass on the plain photo finds him.
    image = _image("group/df_selfie-many-people.jpg")

    faces = pipeline().analyze(image)

    assert len(faces) >= 6
    cut = [face.face for face in faces if face.face.cut_off > 0.25]
    assert any(face.box.x + face.box.width == image.shape[1] for face in cut)
    assert all(face.box.x >= 0 and face.box.y >= 0 for face in (item.face for item in faces))


def test_huge_photo_keeps_group_recall():
    image = _image("group/fnp_multiface.jpg")
    huge = cv2.resize(image, (image.shape[1] * 5, image.shape[0] * 5), interpolation=cv2.INTER_CUBIC)

    faces = pipeline().analyze(huge)

    assert huge.shape[:2] == (3150, 6000)
    assert len(faces) == 6
    assert min(face.face.box.width for face in faces) > 5 * 60


def test_photo_turned_without_exif_is_searched():
    image = _image("identities/barack_obama/fr_obama.jpg")
    upright = pipeline().analyze(image)[0].face.box

    turned = pipeline().analyze(np.ascontiguousarray(np.rot90(image, 1)))

    assert len(turned) >= 1
    # np.rot90 turns counterclockwise: the face's top edge becomes its left edge.
    assert abs(turned[0].face.box.x - upright.y) < 0.1 * upright.height
    assert abs(turned[0].face.box.width - upright.height) < 0.2 * upright.height
