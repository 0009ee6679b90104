// Rebuild when the web app changes: its files are embedded in the binary (src/api/web.rs), and
// cargo does not otherwise see a file that is added to web/.
fn main() {
    println!("cargo:rerun-if-changed=web");
}
