//! `graph`: the ServiceGraph today's policies imply.

use crate::cli::GraphArgs;
use crate::cmd::{Context, Outcome};
use crate::error::Error;

pub fn run(_ctx: &Context, _args: &GraphArgs) -> Result<Outcome, Error> {
    Err(Error::Unsupported("not yet".into()))
}
