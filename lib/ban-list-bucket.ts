/**
 * The ban-list bucket: where the enforcer publishes the complete ban list (BAN_LIST_KEY) for the
 * host agents (the host tier, docs/enforcement.md "Two tiers"), and where agents write their
 * heartbeats (HEARTBEAT_PREFIX, granted by the agent fleet construct).
 *
 * Private (every public access blocked, bucket-owner-enforced object ownership), S3-managed
 * encryption, TLS only, versioned (a bad write can be rolled back by hand), noncurrent versions
 * expire after {@link BAN_LIST_NONCURRENT_DAYS} days (a list is written at most once a minute when
 * it changes, so versions would otherwise pile up). Retained when it leaves the stack, like the
 * table.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { BAN_LIST_KEY } from '../lambda/core/ban-list/heartbeat.js';

/** Days a replaced version of the list (or a heartbeat) is kept. */
export const BAN_LIST_NONCURRENT_DAYS = 7;

export class BanListBucket extends Construct {
  /** The bucket (pass it to the agent fleet: agents read BAN_LIST_KEY from it). */
  readonly banList: s3.Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.banList = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'ExpireReplacedVersions',
          noncurrentVersionExpiration: Duration.days(BAN_LIST_NONCURRENT_DAYS),
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
  }

  /** ARN of the published list's object. */
  get banListObjectArn(): string {
    return this.banList.arnForObjects(BAN_LIST_KEY);
  }

  /**
   * The publisher's grant: PutObject and GetObject (HeadObject needs it) on the list's key only.
   * Nothing else in the bucket: not the heartbeats, not ListBucket, not DeleteObject.
   */
  grantPublish(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PublishBanListObjectOnly',
        actions: ['s3:PutObject', 's3:GetObject'],
        resources: [this.banListObjectArn],
      }),
    );
  }
}
