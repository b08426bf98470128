"""Model -> ONNX -> INT8/FP16 -> TensorRT -> bundle (imported as ``edgebind.export``)."""
