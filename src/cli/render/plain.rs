//! Plain lines, for CI logs and pipes: a line when a step starts, says what it waits for,
//! and ends. Errors are printed once, at the end, by the command.

use super::{doing, done_line, interrupted_line};
use crate::events::Event;

pub fn draw(e: Event) {
    match &e {
        Event::Started { id, action, .. } => {
            let (symbol, verb) = doing(action);
            println!("  {symbol} {verb} {id}…");
        }
        Event::Progress { id, message } => println!("    … {id}: {message}"),
        Event::Done { .. } => {
            if let Some(line) = done_line(&e) {
                println!("{line}");
            }
        }
        Event::Failed { id, .. } => println!("  ! {id} failed (the error is below)"),
        Event::Interrupted { in_flight } => eprintln!("{}", interrupted_line(*in_flight)),
        Event::PlanReady { .. } | Event::Skipped { .. } | Event::Summary { .. } => {}
    }
}
