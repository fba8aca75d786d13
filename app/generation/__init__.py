"""SimBERT / RoFormer-Sim UniLM decoding on onnxruntime (numpy only, no torch)."""
