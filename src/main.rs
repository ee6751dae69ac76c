// mimalloc rather than glibc's malloc: a run is many small, short-lived allocations (each
// request's builders, headers and bodies), where glibc spent about a tenth of the CPU.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    provision::cli::main()
}
