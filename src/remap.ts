// Plans a remap: make <user> the owner of a mounted path (its uid, and its primary group that
// gid) by editing /etc/passwd and /etc/group text. Pure; remap-apply.ts carries it out.
//
// Crash safety comes from the order of the effects (re-own trees, then /etc/group, then
// /etc/passwd, each written atomically) and from this planner recognising a half-done job: if
// /etc/group was renumbered but /etc/passwd was not, the user's primary gid has no group entry
// left, and the plan finishes the renumbering instead of treating the new gid as a collision.
import { fail } from './errors.js';
import { type EtcFile, GROUP_GID, PASSWD_GID, PASSWD_UID, parseGroup, parsePasswd, setField } from './etc-files.js';
import type { EtcDb } from './identity.js';
import type { UserSpec } from './user-spec.js';

export interface Owner {
  uid: number;
  gid: number;
}

export interface RemapPlan {
  userName: string;
  home: string;
  from: Owner;
  to: Owner;
  /** New file contents, or undefined when that file does not change. */
  passwd?: EtcFile;
  group?: EtcFile;
  notices: string[];
}

export function planRemap(spec: UserSpec, db: EtcDb, owner: Owner, matchPath: string): RemapPlan {
  const passwd = parsePasswd(db.passwd).entries;
  const groups = parseGroup(db.group).entries;
  const u = spec.user;
  const user = u.kind === 'name' ? passwd.find((e) => e.name === u.name) : passwd.find((e) => e.uid === u.id);
  if (!user) {
    const hint = u.kind === 'id' ? ' (a remap changes the uid: name the user, e.g. stepdown --match /data app, so it is found again on the next start)' : '';
    fail(`--match needs a user with an entry in /etc/passwd, and '${u.kind === 'name' ? u.name : u.id}' has none; add the user in the image (useradd)${hint}`);
  }
  const notices: string[] = [];
  const from = { uid: user.uid, gid: user.gid };
  const to = { ...from };

  if (owner.uid === 0) notices.push(`${matchPath} is owned by uid 0; ${user.name} keeps uid ${user.uid} (stepdown never makes anyone root)`);
  else to.uid = owner.uid;

  let passwdFile = db.passwd;
  let groupFile: EtcFile | undefined;

  if (to.uid !== from.uid) {
    const other = passwd.find((e) => e.uid === to.uid && e.name !== user.name);
    if (other) notices.push(`uid ${to.uid} already belongs to ${other.name}; ${user.name} now shares it (like usermod -o)`);
    passwdFile = setField(passwdFile, user.line, PASSWD_UID, String(to.uid));
  }

  // With user:group the group comes from the spec: only the uid follows the volume.
  if (!spec.group) {
    if (owner.gid === 0) {
      notices.push(`${matchPath} has gid 0; ${user.name} keeps gid ${user.gid} (stepdown never gives anyone group 0)`);
    } else if (owner.gid !== from.gid) {
      to.gid = owner.gid;
      const holder = groups.find((g) => g.gid === to.gid);
      const primary = groups.find((g) => g.gid === from.gid);
      if (holder && primary) {
        // the new gid is another group's: join it as primary group rather than renumber anything
        notices.push(`gid ${to.gid} already belongs to group ${holder.name}; it becomes ${user.name}'s primary group`);
        passwdFile = setField(passwdFile, user.line, PASSWD_GID, String(to.gid));
      } else {
        // renumber the primary group (if it still has an entry: a half-done job may have done it)
        if (primary) groupFile = setField(db.group, primary.line, GROUP_GID, String(to.gid));
        for (const e of passwd) {
          if (e.gid === from.gid) passwdFile = setField(passwdFile, e.line, PASSWD_GID, String(to.gid)); // others follow the group
        }
      }
    }
  }

  const plan: RemapPlan = { userName: user.name, home: user.home, from, to, notices };
  if (passwdFile !== db.passwd) plan.passwd = passwdFile;
  if (groupFile) plan.group = groupFile;
  return plan;
}

/** Pure: the spec to resolve after the remap (by name: a uid in the spec may have just changed). */
export function specAfterRemap(spec: UserSpec, plan: RemapPlan): UserSpec {
  const after: UserSpec = { text: spec.text, user: { kind: 'name', name: plan.userName } };
  if (spec.group) after.group = spec.group;
  return after;
}

export function changes(plan: RemapPlan): boolean {
  return plan.from.uid !== plan.to.uid || plan.from.gid !== plan.to.gid;
}
