//! The Portcullis server as a library: [`config::Settings`] says what to run,
//! [`startup::Application`] builds and runs it, [`cli`] is the command line the binary parses.

pub mod audit_stdout;
pub mod cli;
pub mod config;
pub mod startup;
pub mod state_file;
