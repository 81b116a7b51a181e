//! `kubectl netpol wizard`: prompts on one side ([`prompt`]), a pure
//! answers-to-policy builder on the other ([`draft`]); [`file`] writes
//! the result without losing anything.

pub mod draft;
pub mod edit;
pub mod file;
pub mod hint;
pub mod prompt;
