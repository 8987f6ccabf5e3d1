//! Analysis: resolves a parsed spec into the `AppSpec` IR that every generator reads.
