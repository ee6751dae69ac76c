//! The task sizes Fargate accepts (AWS ECS developer guide, "Task CPU and memory").

/// The memory values (MiB) Fargate allows with `cpu` units, or `None` for an unknown cpu.
pub fn allowed_memory(cpu: u32) -> Option<Vec<u32>> {
    let range = |from: u32, to: u32, step: u32| (from..=to).step_by(step as usize).collect();
    Some(match cpu {
        256 => vec![512, 1024, 2048],
        512 => range(1024, 4096, 1024),
        1024 => range(2048, 8192, 1024),
        2048 => range(4096, 16384, 1024),
        4096 => range(8192, 30720, 1024),
        8192 => range(16384, 61440, 4096),
        16384 => range(32768, 122880, 8192),
        _ => return None,
    })
}

pub const CPU_VALUES: [u32; 7] = [256, 512, 1024, 2048, 4096, 8192, 16384];

/// Memory as people write it in a hint: "512, 1024, 2048" or "1024 to 4096 in steps of 1024".
pub fn describe(values: &[u32]) -> String {
    if values.len() <= 3 {
        let list: Vec<String> = values.iter().map(u32::to_string).collect();
        return list.join(", ");
    }
    format!(
        "{} to {} in steps of {}",
        values[0],
        values[values.len() - 1],
        values[1] - values[0]
    )
}
