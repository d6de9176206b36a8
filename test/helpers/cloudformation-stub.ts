/**
 * A stub CloudFormation Query API answering DescribeStacks with given outputs, on 127.0.0.1 (the
 * CLI's stack resolution in deployed-mode tests; AWS_ENDPOINT_URL_CLOUDFORMATION points at it).
 */
import { createServer, type Server } from 'node:http';

const xml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function startCloudFormationStub(
  stacks: Readonly<Record<string, Record<string, string>>>,
): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const params = new URLSearchParams(body);
      const ns = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
      res.setHeader('content-type', 'text/xml');
      const name = params.get('StackName') ?? '';
      const outputs = stacks[name];
      if (params.get('Action') !== 'DescribeStacks' || !outputs) {
        res.statusCode = 400;
        res.end(
          `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${xml(name)} does not exist</Message></Error><RequestId>1</RequestId></ErrorResponse>`,
        );
        return;
      }
      const members = Object.entries(outputs)
        .map(
          ([k, v]) =>
            `<member><OutputKey>${k}</OutputKey><OutputValue>${xml(v)}</OutputValue></member>`,
        )
        .join('');
      res.end(
        `<DescribeStacksResponse xmlns="${ns}"><DescribeStacksResult><Stacks><member><StackName>${name}</StackName><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/${name}/1</StackId><CreationTime>2024-11-05T03:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
