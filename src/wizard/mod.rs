//! `kubectl netpol wizard`: prompts on one side ([`prompt`]), a pure
//! answers-to-policy builder on the other ([`draft`]).

pub mod draft;
pub mod prompt;
