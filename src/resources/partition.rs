//! AWS partitions: what differs between `aws`, `aws-cn` and `aws-us-gov`, so that nothing
//! assumes the commercial one.

/// The partition a region belongs to.
pub fn of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else {
        "aws"
    }
}

/// A service's principal in a role's trust policy. In China, EC2's is
/// `ec2.amazonaws.com.cn`; the others keep their name.
pub fn service_principal(service: &str, partition: &str) -> String {
    match (service, partition) {
        ("ec2.amazonaws.com", "aws-cn") => "ec2.amazonaws.com.cn".to_string(),
        _ => service.to_string(),
    }
}
