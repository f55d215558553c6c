//! One-time login links.
