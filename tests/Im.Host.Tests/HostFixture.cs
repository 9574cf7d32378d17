using Im.Contracts;
using Im.TestSupport;

namespace Im.Host.Tests;

/// <summary>One host on the embedded store, with known users and a group to aim requests at.</summary>
public sealed class HostFixture : IAsyncLifetime
{
    public HostProcess Host { get; private set; } = null!;
    public StandInAiServer Ai { get; private set; } = null!;
    public UserResponse Doctor { get; private set; } = null!;
    public UserResponse Patient { get; private set; } = null!;
    public UserResponse Outsider { get; private set; } = null!;
    public GroupResponse Group { get; private set; } = null!;
    public MessageResponse Message { get; private set; } = null!;

    public ImApi Api => Host.Api;

    public async Task InitializeAsync()
    {
        Ai = await StandInAiServer.Start();
        Host = await HostProcess.Start(new Dictionary<string, string> { ["Ai__Endpoint"] = Ai.Url });
        Doctor = await Api.CreateUser(UserRoles.Doctor);
        Patient = await Api.CreateUser(UserRoles.Patient);
        Outsider = await Api.CreateUser(UserRoles.Patient);
        Group = await Api.CreateGroup(Doctor.UserId);
        await Api.AddMember(Group.GroupId, Patient.UserId, UserRoles.Patient);
        Message = await Api.SendMessage(Doctor.UserId, Group.GroupId, "hello");
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Ai.DisposeAsync();
    }

    /// <summary>Replaces {group}, {doctor}, {patient}, {outsider} and {message} with the fixture's ids.</summary>
    public string Fill(string template) => template
        .Replace("{group}", Group.GroupId, StringComparison.Ordinal)
        .Replace("{doctor}", Doctor.UserId, StringComparison.Ordinal)
        .Replace("{patient}", Patient.UserId, StringComparison.Ordinal)
        .Replace("{outsider}", Outsider.UserId, StringComparison.Ordinal)
        .Replace("{message}", Message.MessageId, StringComparison.Ordinal);
}
