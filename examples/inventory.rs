//! The README's main job: what this machine is (placeholder until pf and sysutil land).
fn main() {
    println!("agentry inventory");
}
