"""Qt-free inspection core: frames, sources, preprocess, backends, rules, pipeline."""
