// A small strict TypeScript client of Podium, written against the types that
// openapi-typescript generates from openapi/openapi.json (tests/contract/run.sh writes
// them to ts/generated/podium.d.ts and runs `tsc --strict --noEmit` on this file). It is
// never run: it must type-check, so that a front-end written against the document can
// sign in, list challenges, read standings, post a JSON sale batch and read an award
// with plain `fetch` and no casts.
import type { paths } from "./generated/podium";

type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;
type Body<T> = T extends { requestBody: { content: { "application/json": infer B } } }
  ? B
  : T extends { requestBody?: { content: { "application/json": infer B } } }
    ? B
    : never;
type ProblemJson<T> = T extends { content: { "application/problem+json": infer B } } ? B : never;
type Query<T> = T extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

type TokenOp = paths["/api/v1/auth/token"]["post"];
type TokenRequest = Body<TokenOp>;
type TokenResponse = Json<TokenOp["responses"][200]>;

type ChallengesOp = paths["/api/v1/challenges"]["get"];
type ChallengePage = Json<ChallengesOp["responses"][200]>;
type Challenge = ChallengePage["items"][number];

type StandingsOp = paths["/api/v1/challenges/{id}/standings"]["get"];
type StandingsPage = Json<StandingsOp["responses"][200]>;
type StandingLine = StandingsPage["items"][number];

type SalesOp = paths["/api/v1/sales"]["post"];
type SaleBatch = Body<SalesOp>;
type SaleLine = SaleBatch["sales"][number];
type SalesReceipt = Json<SalesOp["responses"][201]>;

type AwardOp = paths["/api/v1/awards/{id}"]["get"];
type Award = Json<AwardOp["responses"][200]>;

type Problem = ProblemJson<SalesOp["responses"][422]>;

export class PodiumError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
  ) {
    super(problem ? `${problem.code}: ${problem.detail}` : `HTTP ${status}`);
  }
}

export class Podium {
  private token: string | undefined;

  constructor(private readonly baseUrl: string) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.token !== undefined) headers["Authorization"] = `Bearer ${this.token}`;
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetch(`${this.baseUrl}${path}`, init);
    if (!response.ok) {
      const problem = (await response.json().catch(() => undefined)) as Problem | undefined;
      throw new PodiumError(response.status, problem);
    }
    return (await response.json()) as T;
  }

  async signIn(email: string, password: string): Promise<TokenResponse> {
    const request: TokenRequest = { grant_type: "password", email, password };
    const token = await this.call<TokenResponse>("POST", "/api/v1/auth/token", request);
    this.token = token.access_token;
    const expires: Date = new Date(token.expires_at);
    if (token.expires_in <= 0 || Number.isNaN(expires.getTime())) {
      throw new Error("the token is already expired");
    }
    return token;
  }

  async signInPartner(clientId: string, clientSecret: string): Promise<TokenResponse> {
    const request: TokenRequest = {
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: clientSecret,
    };
    const token = await this.call<TokenResponse>("POST", "/api/v1/auth/token", request);
    this.token = token.access_token;
    return token;
  }

  async challenges(query: Query<ChallengesOp> = {}): Promise<Challenge[]> {
    const params = new URLSearchParams();
    if (query.limit !== undefined) params.set("limit", String(query.limit));
    if (query.status !== undefined) params.set("status", query.status);
    const page = await this.call<ChallengePage>("GET", `/api/v1/challenges?${params}`);
    return page.items;
  }

  async standings(challengeId: Challenge["id"], limit = 50, offset = 0): Promise<StandingsPage> {
    return this.call<StandingsPage>(
      "GET",
      `/api/v1/challenges/${encodeURIComponent(challengeId)}/standings?limit=${limit}&offset=${offset}`,
    );
  }

  async recordSales(lines: SaleLine[]): Promise<SalesReceipt> {
    const batch: SaleBatch = { sales: lines };
    return this.call<SalesReceipt>("POST", "/api/v1/sales", batch);
  }

  async award(id: string): Promise<Award> {
    return this.call<Award>("GET", `/api/v1/awards/${encodeURIComponent(id)}`);
  }
}

function describe(line: StandingLine): string {
  const rank: string = line.rank === null || line.rank === undefined ? "unranked" : `#${line.rank}`;
  // Scores are exact decimal strings ("3411675.2381"); shown as they come.
  const score: string = typeof line.score === "string" ? line.score : "no score";
  return `${rank} ${line.entrant.name}: ${score}${line.qualified ? " (qualified)" : ""}`;
}

export async function demo(baseUrl: string, participantId: string, awardId: string): Promise<void> {
  const podium = new Podium(baseUrl);
  const token = await podium.signIn("admin@podium.local", "the admin's password");
  const role: TokenResponse["role"] = token.role;

  const running = await podium.challenges({ status: "running", limit: 10 });
  const first = running[0];
  if (first === undefined) return;
  const kind: Challenge["kind"] = first.kind;
  const page = await podium.standings(first.id, 20, 0);
  const frozen: boolean = page.frozen;
  const lines: string[] = page.items.map(describe);

  const line: SaleLine = {
    participant_id: participantId,
    sold_at: "2026-11-20T10:30:00Z",
    product_sku: "ESP-200",
    customer_reference: "C-001",
    quantity: 3,
    amount_cents: 89_700,
    currency: "EUR",
    source: "erp",
    external_id: "INV-1187-1",
  };
  const receipt = await podium.recordSales([line]);
  const counts: [number, number, number[]] = [receipt.received, receipt.recorded, receipt.duplicates];

  const award = await podium.award(awardId);
  const status: Award["status"] = award.status;
  const value: number = award.value_cents;
  const who: string = award.entrant.name;
  const when: string | null | undefined = award.fulfilled_at;

  console.log(role, kind, frozen, lines.join("\n"), counts, status, value, who, when);
}
