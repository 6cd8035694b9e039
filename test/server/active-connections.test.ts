import t from 'tap';
import { ActiveConnections, type ActiveLinks } from '../../source/server/active-connections.js';

class Member implements ActiveLinks<Member> {
  activePrevious: Member | undefined = undefined;
  activeNext: Member | undefined = undefined;
  constructor(readonly name: string) {}
}

const names = (active: ActiveConnections<Member>): string[] => [...active].map((member) => member.name);

t.test('members added and deleted in any order are walked newest first, and counted', async (t) => {
  const active = new ActiveConnections<Member>();
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => new Member(name)) as [Member, Member, Member, Member];
  for (const member of [a, b, c, d]) active.add(member);
  t.same(names(active), ['d', 'c', 'b', 'a']);
  t.equal(active.size, 4);
  active.delete(c); // a middle one
  active.delete(d); // the newest
  active.delete(a); // the oldest
  t.same(names(active), ['b']);
  t.equal(active.size, 1);
  active.delete(b);
  t.same(names(active), []);
  t.equal(active.size, 0);
  active.add(c);
  t.same(names(active), ['c'], 'a member deleted may join again');
});

t.test('deleting what is not a member, or a member twice, changes nothing', async (t) => {
  const active = new ActiveConnections<Member>();
  const [a, b, stranger] = ['a', 'b', 'stranger'].map((name) => new Member(name)) as [Member, Member, Member];
  active.add(a);
  active.add(b);
  active.delete(stranger);
  active.delete(a);
  active.delete(a);
  t.same(names(active), ['b']);
  t.equal(active.size, 1);
  t.same(names(new ActiveConnections<Member>()), [], 'an empty list walks nothing');
  new ActiveConnections<Member>().delete(stranger);
});

t.test('a member visited may delete itself, by forEach or by for…of, and the walk goes on', async (t) => {
  const members = Array.from({ length: 5 }, (_, index) => new Member(String(index)));
  const active = new ActiveConnections<Member>();
  for (const member of members) active.add(member);
  const visited: string[] = [];
  active.forEach((member) => {
    visited.push(member.name);
    if (Number(member.name) % 2 === 0) active.delete(member);
  });
  t.same(visited, ['4', '3', '2', '1', '0']);
  t.same(names(active), ['3', '1']);
  for (const member of active) active.delete(member);
  t.equal(active.size, 0);
  t.same(names(active), []);
});
