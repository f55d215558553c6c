// In-memory storage for oidc-provider models. Clients live here too, so the
// Admin REST subset can add and update them while the provider runs.
const stores = new Map();

function storeFor(namespace, name) {
  const key = `${namespace}:${name}`;
  if (!stores.has(key)) stores.set(key, new Map());
  return stores.get(key);
}

export function adapterFor(namespace) {
  return class MemoryAdapter {
    constructor(name) {
      this.name = name;
      this.store = storeFor(namespace, name);
      this.grants = storeFor(namespace, 'grantIndex');
      this.userCodes = storeFor(namespace, 'userCode');
      this.uids = storeFor(namespace, 'uid');
    }

    async upsert(id, payload, expiresIn) {
      const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : undefined;
      this.store.set(id, { payload, expiresAt });
      if (payload.grantId) {
        const ids = this.grants.get(payload.grantId) || [];
        ids.push([this.name, id]);
        this.grants.set(payload.grantId, ids);
      }
      if (payload.userCode) this.userCodes.set(payload.userCode, id);
      if (payload.uid) this.uids.set(payload.uid, id);
    }

    async find(id) {
      const entry = this.store.get(id);
      if (!entry) return undefined;
      if (entry.expiresAt && entry.expiresAt < Date.now()) {
        this.store.delete(id);
        return undefined;
      }
      return entry.payload;
    }

    async findByUserCode(userCode) {
      const id = this.userCodes.get(userCode);
      return id ? this.find(id) : undefined;
    }

    async findByUid(uid) {
      const id = this.uids.get(uid);
      return id ? this.find(id) : undefined;
    }

    async consume(id) {
      const entry = this.store.get(id);
      if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id) {
      this.store.delete(id);
    }

    async revokeByGrantId(grantId) {
      for (const [name, id] of this.grants.get(grantId) || []) {
        storeFor(namespace, name).delete(id);
      }
      this.grants.delete(grantId);
    }
  };
}

/** Every client of a realm, as stored (the Admin REST subset lists them). */
export function clientStore(namespace) {
  return storeFor(namespace, 'Client');
}
