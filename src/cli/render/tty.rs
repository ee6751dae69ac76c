//! The live display on a terminal: a spinner per step in flight with what it waits for
//! and its elapsed time; finished steps print above the spinners and stay.

use super::{doing, done_line, interrupted_line};
use crate::events::Event;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

pub struct Live {
    bars: MultiProgress,
    in_flight: Mutex<HashMap<String, (ProgressBar, String)>>,
}

impl Live {
    pub fn new() -> Self {
        Live {
            bars: MultiProgress::new(),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    pub fn draw(&self, e: Event) {
        let mut flying = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        match &e {
            Event::Started { id, action, .. } => {
                let (symbol, verb) = doing(action);
                let head = format!("{symbol} {verb} {id}");
                let bar = self.bars.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("  {spinner} {msg} ({elapsed})")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_message(head.clone());
                bar.enable_steady_tick(Duration::from_millis(120));
                flying.insert(id.clone(), (bar, head));
            }
            Event::Progress { id, message } => {
                if let Some((bar, head)) = flying.get(id) {
                    bar.set_message(format!("{head}: {message}"));
                }
            }
            Event::Done { id, .. } | Event::Failed { id, .. } => {
                if let Some((bar, _)) = flying.remove(id) {
                    bar.finish_and_clear();
                    self.bars.remove(&bar);
                }
                let line = match &e {
                    Event::Failed { .. } => format!("  ! {id} failed (the error is below)"),
                    _ => done_line(&e).unwrap_or_default(),
                };
                let _ = self.bars.println(line);
            }
            Event::Interrupted { in_flight } => {
                let _ = self.bars.println(interrupted_line(*in_flight));
            }
            Event::PlanReady { .. } | Event::Skipped { .. } | Event::Summary { .. } => {}
        }
    }
}
