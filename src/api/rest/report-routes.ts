/**
 * Completion report links of the JSON API (`/api/v1/jobs/:id/report…`): the report's files with
 * download URLs, one file streamed from the report bucket, and every failed-task row in one CSV.
 * Thin: ReportFiles (service/report-files.ts) finds and opens the objects; this file only maps
 * them to HTTP (status, content type, attachment name, length) and streams the body through.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { REPORT_MANIFEST_NAME, type ReportDownload, type ReportFiles } from '../../service/report-files.ts';

export interface ReportRoutesOptions {
  readonly reports: ReportFiles;
  /** The caller's account (resolved by the JSON API's authentication). */
  readonly accountOf: (req: FastifyRequest) => Promise<string>;
}

type IdParams = { Params: { id: string } };

/** The JSON answer of GET /jobs/:id/report (the contract the web page and the CLI read). */
export interface ReportView {
  JobId: string;
  Status: string;
  Report: {
    Bucket: string;
    Prefix?: string;
    ManifestKey: string;
    WrittenAt: string;
    Manifest: { Key: string; Url: string };
    Files: { Name: string; Key: string; TaskStatus: 'succeeded' | 'failed'; Rows: number; Md5: string; Url: string }[];
  } | null;
}

export async function reportRoutes(app: FastifyInstance, opts: ReportRoutesOptions): Promise<void> {
  const { reports, accountOf } = opts;
  // Links are absolute paths under this plugin's prefix (/api/v1), with the job id as given.
  const fileUrl = (jobId: string, name: string): string =>
    `${app.prefix}/jobs/${encodeURIComponent(jobId)}/report/files/${encodeURIComponent(name)}`;

  app.get<IdParams>('/jobs/:id/report', async (req): Promise<ReportView> => {
    const { job, report } = reports.list(await accountOf(req), req.params.id);
    return {
      JobId: job.id,
      Status: job.status,
      Report:
        report === null
          ? null
          : {
              Bucket: report.bucket,
              ...(report.prefix !== undefined && report.prefix !== '' ? { Prefix: report.prefix } : {}),
              ManifestKey: report.manifestKey,
              WrittenAt: report.writtenAt,
              Manifest: { Key: report.manifestKey, Url: fileUrl(job.id, REPORT_MANIFEST_NAME) },
              Files: report.files.map((f) => ({
                Name: f.name,
                Key: f.key,
                TaskStatus: f.taskStatus,
                Rows: f.rows,
                Md5: f.md5,
                Url: fileUrl(job.id, f.name),
              })),
            },
    };
  });

  // GET and HEAD in one route: fastify's automatic HEAD twin would read the whole object to drop it.
  app.route<{ Params: { id: string; name: string } }>({
    method: ['GET', 'HEAD'],
    url: '/jobs/:id/report/files/:name',
    handler: async (req, reply) =>
      sendDownload(req, reply, await reports.open(await accountOf(req), req.params.id, req.params.name)),
  });

  app.route<IdParams>({
    method: ['GET', 'HEAD'],
    url: '/jobs/:id/report/failed',
    handler: async (req, reply) =>
      sendDownload(req, reply, await reports.openFailed(await accountOf(req), req.params.id)),
  });
}

function sendDownload(req: FastifyRequest, reply: FastifyReply, download: ReportDownload): FastifyReply {
  void reply
    .header('content-type', download.contentType)
    .header('content-disposition', `attachment; filename="${download.name.replace(/["\\\r\n]/g, '_')}"`)
    .header('cache-control', 'no-store');
  if (download.size !== undefined) void reply.header('content-length', String(download.size));
  if (req.method === 'HEAD') {
    // The headers tell all a HEAD asks; reading the object only to drop it would cost its size.
    download.cancel();
    return reply.send();
  }
  // Readable.from pulls the next chunk only when the socket drained the last: backpressure, no buffering.
  const body = Readable.from(download.body, { objectMode: false });
  body.once('close', () => download.cancel());
  return reply.send(body);
}
