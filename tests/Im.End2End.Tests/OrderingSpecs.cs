using Im.Contracts;
using Im.TestSupport;

namespace Im.End2End.Tests;

[Collection(EndToEnd.Name)]
public sealed class OrderingSpecs(E2EFixture fixture)
{
    private const int Senders = 50;
    private const int MessagesEach = 4;

    [Fact]
    public async Task Should_keep_seq_gapless_and_push_in_seq_order_under_50_concurrent_senders()
    {
        var api = fixture.Api;
        var owner = await api.CreateUser(UserRoles.Doctor);
        var group = await api.CreateGroup(owner.UserId);
        var senders = new List<UserResponse>();
        for (var i = 0; i < Senders; i++)
        {
            var user = await api.CreateUser(UserRoles.Doctor);
            await api.AddMember(group.GroupId, user.UserId, UserRoles.Doctor);
            senders.Add(user);
        }
        var watchers = new List<WsClient>();
        try
        {
            watchers.Add(await fixture.Connect(owner.UserId));
            watchers.Add(await fixture.Connect(owner.UserId));
            watchers.Add(await fixture.Connect(senders[0].UserId));

            // Half send over REST, half over their own WebSockets, all at once.
            var socketSenders = new List<WsClient>();
            for (var i = 1; i < Senders; i += 2) socketSenders.Add(await fixture.Connect(senders[i].UserId));
            watchers.AddRange(socketSenders);

            var sends = senders.Select(async (sender, index) =>
            {
                for (var n = 0; n < MessagesEach; n++)
                {
                    if (index % 2 == 1)
                        await socketSenders[index / 2].SendJson(new { type = "send_message", group_id = group.GroupId, content = $"{index}-{n}" });
                    else
                        await api.SendMessage(sender.UserId, group.GroupId, $"{index}-{n}");
                }
            });
            await Task.WhenAll(sends);

            const int total = Senders * MessagesEach;
            foreach (var watcher in watchers)
            {
                var seqs = new List<long>();
                while (seqs.Count < total)
                {
                    var frame = await watcher.NextOfType(FrameTypes.MessageSent, TimeSpan.FromSeconds(30));
                    if ((string?)frame["group_id"] == group.GroupId) seqs.Add((long)frame["seq"]!);
                }
                Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), seqs);
            }

            var history = await api.History(group.GroupId);
            Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), history.Select(m => m.Seq));
            Assert.True(history.Zip(history.Skip(1)).All(pair => pair.First.Id < pair.Second.Id), "id strictly increases with seq");
            foreach (var (sender, index) in senders.Select((s, i) => (s, i)))
            {
                // Each sender's own messages keep the order it sent them in.
                var own = history.Where(m => m.FromUserId == sender.UserId).Select(m => m.MsgContent).ToList();
                Assert.Equal(Enumerable.Range(0, MessagesEach).Select(n => $"{index}-{n}"), own);
            }
        }
        finally
        {
            foreach (var watcher in watchers) await watcher.DisposeAsync();
        }
    }
}
