// An OpenID provider (panva/oidc-provider) for the Python test suite, on loopback only.
//
//   node oidc_provider.mjs <port>
//
// Environment:
//   OIDC_PROVIDER_CLIENT_IDS      comma list of confidential clients (default "mdcreator")
//   OIDC_PROVIDER_CLIENT_SECRET   secret shared by those clients (client_secret_post)
//   OIDC_PROVIDER_REDIRECT_URIS   comma list of redirect URIs registered for every client
//   OIDC_PROVIDER_GROUPS_CLAIM    name of the groups claim (default "cognito:groups")
//   OIDC_PROVIDER_API_RESOURCE    resource indicator whose JWT access tokens have the client id
//                                 as audience (default "urn:mdcreator:api"); any other
//                                 resource gets JWT access tokens with itself as audience
//
// Sign-in is non-interactive: the authorization request's `login_hint` is the base64url
// of a JSON object {sub, email?, email_verified?, name?, groups?}; that person is signed in
// and every requested scope is granted. A fresh RSA signing key (new `kid`) is made at each
// start. Stdout gets one JSON line per event: {"event": "ready", ...} once listening, then
// {"event": "request", "method", "path"} per request received.

import crypto from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] || process.env.OIDC_PROVIDER_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node oidc_provider.mjs <port>');
  process.exit(2);
}

const issuer = `http://127.0.0.1:${port}`;
const clientIds = (process.env.OIDC_PROVIDER_CLIENT_IDS || 'mdcreator').split(',').filter(Boolean);
const clientSecret = process.env.OIDC_PROVIDER_CLIENT_SECRET || 'mdcreator-test-secret';
const redirectUris = (process.env.OIDC_PROVIDER_REDIRECT_URIS || 'http://127.0.0.1/callback').split(',').filter(Boolean);
const groupsClaim = process.env.OIDC_PROVIDER_GROUPS_CLAIM || 'cognito:groups';
const apiResource = process.env.OIDC_PROVIDER_API_RESOURCE || 'urn:mdcreator:api';
const API_SCOPE = 'api';

// Everyone who signed in since start, by subject: the claims their login_hint described.
const accounts = new Map();

function emit(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function signingKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };
}

function personFromHint(hint) {
  const person = JSON.parse(Buffer.from(hint || '', 'base64url').toString('utf8'));
  if (!person || typeof person.sub !== 'string' || !person.sub) {
    throw new Error('login_hint must describe a person with a "sub"');
  }
  return person;
}

function profileClaims(person) {
  const claims = { sub: person.sub };
  for (const name of ['email', 'email_verified', 'name']) {
    if (person[name] !== undefined) claims[name] = person[name];
  }
  if (person.groups !== undefined) claims[groupsClaim] = person.groups;
  return claims;
}

async function grantEverything(provider, details) {
  const { prompt, grantId, session, params } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

const key = signingKey();

const configuration = {
  jwks: { keys: [key] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  clients: clientIds.map((clientId) => ({
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  })),
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', groupsClaim],
  },
  // ID tokens carry the claims of the granted scopes, as Cognito's do.
  conformIdTokenClaims: false,
  async findAccount(_ctx, sub) {
    const person = accounts.get(sub);
    if (!person) return undefined;
    return { accountId: sub, claims: async () => profileClaims(person) };
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resource, client) => ({
        scope: API_SCOPE,
        audience: resource === apiResource ? client.clientId : resource,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  // JWT access tokens carry the profile, so an API sees who called without the userinfo endpoint.
  async extraTokenClaims(_ctx, token) {
    if (token.kind !== 'AccessToken' || !token.resourceServer) return undefined;
    const person = accounts.get(token.accountId);
    if (!person) return undefined;
    const { sub, ...claims } = profileClaims(person);
    return claims;
  },
};

const provider = new Provider(issuer, configuration);

// Logged on arrival, before any answer is sent, so a client that got its response
// and then asks for a marker request knows the log holds every earlier request.
provider.use(async (ctx, next) => {
  emit({ event: 'request', method: ctx.method, path: ctx.path });
  await next();
});

provider.use(async (ctx, next) => {
  if (ctx.method !== 'GET' || !/^\/interaction\/[^/]+$/.test(ctx.path)) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  let result;
  if (details.prompt.name === 'login') {
    let person;
    try {
      person = personFromHint(details.params.login_hint);
    } catch (error) {
      ctx.status = 400;
      ctx.body = `cannot sign in: ${error.message}`;
      return undefined;
    }
    accounts.set(person.sub, person);
    result = { login: { accountId: person.sub } };
  } else {
    result = { consent: { grantId: await grantEverything(provider, details) } };
  }
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission: details.prompt.name !== 'login',
  });
  ctx.redirect(returnTo);
  return undefined;
});

const server = provider.listen(port, '127.0.0.1', () => {
  emit({ event: 'ready', issuer, kid: key.kid });
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
