use super::args::OutputsArgs;
use super::{Cli, Error, context};
use crate::provider::Provider;
use serde_json::{Map, Value as Json};

pub async fn run(cli: &Cli, a: &OutputsArgs) -> Result<u8, Error> {
    let ctx = context::load(cli).await?;
    if ctx.state.resources.is_empty() {
        return Err(Error::Usage(format!(
            "stack {} has no resources yet (state: {})\n  hint: run `provision up` first",
            ctx.stack.name,
            ctx.state_path.display()
        )));
    }
    let mut all = Map::new();
    for (id, e) in &ctx.state.resources {
        all.insert(id.clone(), Json::Object(e.outputs.clone()));
    }
    if !a.offline {
        // Task addresses change with every deployment, so they are read now, not stored.
        let aws = ctx.aws(cli).await?;
        for (id, e) in &ctx.state.resources {
            let live = aws.live_outputs(id, e).await?;
            if let Some(Json::Object(m)) = all.get_mut(id) {
                m.extend(live);
            }
        }
    }
    if a.json {
        super::render::json_line(&serde_json::json!({"event": "outputs", "outputs": all}));
        super::render::json_line(&crate::events::Event::Summary {
            ok: true,
            stack: ctx.stack.name.clone(),
            changes: 0,
            seconds: 0.0,
            error: None,
        });
        return Ok(0);
    }
    for (id, outputs) in &all {
        for (k, v) in outputs.as_object().into_iter().flatten() {
            let v = match v {
                Json::String(s) => s.clone(),
                Json::Array(items) if items.is_empty() => "(none)".to_string(),
                Json::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            println!("{id}.{k} = {v}");
        }
    }
    Ok(0)
}
