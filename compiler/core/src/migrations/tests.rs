//! Unit tests of the migration planner.
