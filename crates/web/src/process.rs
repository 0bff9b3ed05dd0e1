/// This process's id and memory, for `/health`: what `orderflow load` reports per service.
pub fn process_info() -> serde_json::Value {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kilobytes = |field: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
    };
    serde_json::json!({
        "pid": std::process::id(),
        "rssKb": kilobytes("VmRSS:"),
        "peakRssKb": kilobytes("VmHWM:"),
    })
}
