"""The bilingual (English + Chinese) encoder: vocabulary extension, data mixture, training."""
