"""SimBERT / RoFormer-Sim: UniLM generation model in torch, its ONNX export, vocabulary trimming."""
