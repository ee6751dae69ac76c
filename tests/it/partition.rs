//! Nothing assumes the commercial partition: principals and partitions follow the region.

use provision::resources::partition::{of_region, service_principal};

#[test]
fn principals_and_partitions_follow_the_region() {
    assert_eq!(of_region("eu-west-1"), "aws");
    assert_eq!(of_region("cn-north-1"), "aws-cn");
    assert_eq!(of_region("us-gov-west-1"), "aws-us-gov");
    assert_eq!(
        service_principal("ec2.amazonaws.com", of_region("cn-northwest-1")),
        "ec2.amazonaws.com.cn"
    );
    assert_eq!(
        service_principal("ec2.amazonaws.com", of_region("us-east-1")),
        "ec2.amazonaws.com"
    );
    assert_eq!(
        service_principal("ecs-tasks.amazonaws.com", "aws-cn"),
        "ecs-tasks.amazonaws.com"
    );
}
