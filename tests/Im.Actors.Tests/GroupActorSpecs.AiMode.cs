using System.Text.Json;
using Akka.Actor;
using Im.Actors.Ai;
using Im.Actors.Storage;
using Im.Contracts;
using static Im.Actors.Groups.GroupCommands;
using static Im.Actors.Tests.Support.OutcomeAssert;

using Im.Actors.Tests.Support;

namespace Im.Actors.Tests;

/// <summary>
/// The group's AI mode and the pause after a doctor's message, as its writer keeps them: stored in
/// the group, said to every member, and still in force after the writer stops and starts again.
/// </summary>
public sealed partial class GroupActorSpecs
{
    private async Task<IActorRef> Consultation() =>
        await GroupWith(("patient", UserRoles.Patient, UserRoles.Patient), ("doctor", UserRoles.Doctor, UserRoles.Doctor));

    private Task<Outcome<GroupAiResponse>> SetAi(IActorRef group, string mode, int? pause, Caller caller) =>
        Ask(group, new SetGroupAi(_groupId, new SetGroupAiRequest(mode, pause), caller));

    /// <summary>Stops the writer (as a crash would) and starts a fresh one, which knows only what the store holds.</summary>
    private async Task<IActorRef> Restarted(IActorRef group)
    {
        var entity = await Sys.ActorSelection(group.Path / "entity").ResolveOne(AskTimeout);
        Watch(entity);
        Sys.Stop(entity);
        await ExpectTerminatedAsync(entity, AskTimeout);
        return StartGroup();
    }

    [Fact]
    public async Task Should_store_the_ai_settings_and_tell_every_member()
    {
        var group = await Consultation();
        var events = await _server.Redis.GetSubscriber().SubscribeAsync(_store.Keys.GroupEvents(_groupId));

        var settings = Ok(await SetAi(group, AiModes.Off, 600, Caller.FromHeader("doctor")));

        Assert.Equal((_groupId, AiModes.Off, 600, "doctor"), (settings.GroupId, settings.AiMode, settings.PauseAfterDoctorSeconds, settings.UpdatedBy));
        var stored = (await _store.GetGroup(_groupId))!;
        Assert.Equal((AiModes.Off, 600, settings.UpdatedAt), (stored.AiMode, stored.PauseAfterDoctorSeconds, stored.UpdatedAt));
        var pushed = Pushed.Read(await events.ReadAsync());
        Assert.Equal(["creator", "doctor", "patient"], pushed.Recipients.Order());
        Assert.Equal(new GroupUpdatedFrame(_groupId, AiModes.Off, 600, "doctor"), pushed.Frame.Deserialize<GroupUpdatedFrame>(ImJson.Options));

        // An omitted pause keeps the one set before.
        Assert.Equal(600, Ok(await SetAi(group, AiModes.Auto, null, Admin)).PauseAfterDoctorSeconds);
        await events.UnsubscribeAsync();
    }

    [Fact]
    public async Task Should_refuse_the_ai_settings_to_anyone_but_a_doctor_member_or_an_admin()
    {
        var group = await Consultation();
        Refused(ErrorCodes.Forbidden, await SetAi(group, AiModes.Off, null, Caller.FromHeader("patient")));
        Refused(ErrorCodes.Forbidden, await SetAi(group, AiModes.Off, null, Caller.FromHeader("stranger")));
        Refused(ErrorCodes.Forbidden, await SetAi(group, AiModes.Off, null, Jwt("patient")));
        Assert.Equal(AiModes.Auto, (await _store.GetGroup(_groupId))!.AiMode);

        var absent = StartGroup(Ids.NewGroupId(DateTimeOffset.UtcNow));
        Refused(ErrorCodes.GroupNotFound, await Ask(absent, new SetGroupAi("group_nobody_made", new SetGroupAiRequest(AiModes.Off, null), Admin)));
    }

    [Fact]
    public async Task Should_forward_nothing_while_the_ai_is_off_even_after_a_restart()
    {
        var group = await Consultation();
        Ok(await SetAi(group, AiModes.Off, null, Caller.FromHeader("doctor")));
        group = await Restarted(group);

        await Send(group, "patient", "is anyone there?");

        await _aiPipeline.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
        Assert.Empty(await _store.PendingRecordIds());
        Assert.Equal(0, (await _store.ListRecords(_groupId, new PageRequest(1, 20))).Total);

        // Back to auto: the next patient's message opens a record under the mode of that moment.
        Ok(await SetAi(group, AiModes.Auto, null, Caller.FromHeader("doctor")));
        await Send(group, "patient", "and now?");
        var call = await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>();
        Assert.Equal(AiModes.Auto, (await _store.GetRecord(call.RecordId))!.AiMode);
    }

    [Fact]
    public async Task Should_keep_the_ai_quiet_after_a_doctors_message_across_a_restart()
    {
        var group = await Consultation();
        Ok(await SetAi(group, AiModes.Auto, 3600, Caller.FromHeader("doctor")));

        await Send(group, "doctor", "I will look at this myself");
        group = await Restarted(group);
        await Send(group, "patient", "thank you, doctor");

        await _aiPipeline.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
        Assert.Empty(await _store.PendingRecordIds());
    }

    [Fact]
    public async Task Should_forward_again_once_the_pause_is_over()
    {
        var group = await Consultation();
        Ok(await SetAi(group, AiModes.Auto, 60, Caller.FromHeader("doctor")));
        await Send(group, "doctor", "one moment");
        _clock.Advance(TimeSpan.FromSeconds(59));
        await Send(group, "patient", "a minute is not over yet");
        await _aiPipeline.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));

        _clock.Advance(TimeSpan.FromSeconds(1));
        await Send(group, "patient", "still there?");
        await _aiPipeline.ExpectMsgAsync<AiPipeline.Call>();
    }
}
